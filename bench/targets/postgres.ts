/**
 * PostgreSQL as the bench target. Commits are observed with LISTEN/NOTIFY: a trigger on the marker row
 * calls pg_notify, and PostgreSQL delivers notifications only when (and right after) the writing
 * transaction commits, so the bench learns of a commit within about a millisecond without polling.
 */
import pg from 'pg';
import { tableName, MARKER_ID } from '../workload/rows.js';
import { checkName, createPgDatabase, dropPgDatabase, listPgDatabases, pgServerVersion, pgUrlFor } from './pg-admin.js';
import type { BaselineWriter, BenchTarget, MarkerObserver, TargetDb, TargetRow, WriteRow } from './target.js';

const COLUMNS = (table: number) =>
  table === 0
    ? ['id', 'version', 'amount', 'flag', 'updated_at', 'payload']
    : ['id', 'parent_id', 'version', 'amount', 'flag', 'updated_at', 'payload'];

function ddl(tables: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < tables; i++) {
    const parent = i === 0 ? '' : `parent_id INT8 NOT NULL REFERENCES ${tableName(i - 1)} (id),`;
    out.push(
      `CREATE TABLE ${tableName(i)} (id INT8 PRIMARY KEY, ${parent} version INT4 NOT NULL, amount NUMERIC(12,2) NOT NULL, ` +
        'flag BOOL NOT NULL, updated_at TIMESTAMPTZ NOT NULL, payload TEXT NOT NULL)',
    );
    // Without an index on the referencing column every parent delete scans the child table.
    if (i > 0) out.push(`CREATE INDEX ON ${tableName(i)} (parent_id)`);
  }
  out.push(
    `CREATE FUNCTION bench_marker_notify() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN PERFORM pg_notify('molt_bench_marker', NEW.version::text); RETURN NULL; END $$`,
    `CREATE TRIGGER bench_marker AFTER INSERT OR UPDATE ON ${tableName(0)} FOR EACH ROW
       WHEN (NEW.id = ${MARKER_ID}) EXECUTE FUNCTION bench_marker_notify()`,
  );
  return out;
}

class PgWriter implements BaselineWriter {
  private readonly sql = new Map<string, string>();
  constructor(private readonly client: pg.Client) {}

  begin = async () => void (await this.client.query('BEGIN'));
  commit = async () => void (await this.client.query('COMMIT'));
  close = () => this.client.end();

  async upsert(table: number, rows: readonly WriteRow[]): Promise<void> {
    const cols = COLUMNS(table);
    const key = `u${table}:${rows.length}`;
    let text = this.sql.get(key);
    if (!text) {
      const tuples = rows.map((_, r) => `(${cols.map((_, c) => `$${r * cols.length + c + 1}`).join(',')})`);
      const set = cols.slice(1).map((c) => `${c} = excluded.${c}`);
      text = `INSERT INTO ${tableName(table)} (${cols.join(',')}) VALUES ${tuples.join(',')} ON CONFLICT (id) DO UPDATE SET ${set.join(', ')}`;
      this.sql.set(key, text);
    }
    const params: unknown[] = [];
    for (const row of rows) {
      params.push(row.id);
      if (table > 0) params.push(row.parentId);
      params.push(row.version, row.amount, row.flag, row.updatedAt, row.payload);
    }
    await this.client.query(text, params);
  }

  async delete(table: number, ids: readonly string[]): Promise<void> {
    const key = `d${table}:${ids.length}`;
    let text = this.sql.get(key);
    if (!text) {
      text = `DELETE FROM ${tableName(table)} WHERE id IN (${ids.map((_, k) => `$${k + 1}`).join(',')})`;
      this.sql.set(key, text);
    }
    await this.client.query(text, ids as string[]);
  }
}

class PgTargetDb implements TargetDb {
  readonly webhookPath: string;
  constructor(
    private readonly adminUrl: string,
    readonly name: string,
    readonly url: string,
  ) {
    this.webhookPath = `/${name}/public`;
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'molt-bench' });
    await client.connect();
    return client;
  }

  private async one<T extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<T[]> {
    const client = await this.connect();
    try {
      return (await client.query<T>(text, params)).rows;
    } finally {
      await client.end();
    }
  }

  async openWriter(): Promise<BaselineWriter> {
    return new PgWriter(await this.connect());
  }

  async readPage(table: number, afterId: string, limit: number): Promise<TargetRow[]> {
    const parent = table === 0 ? 'NULL::text' : 'parent_id::text';
    const rows = await this.one<{ id: string; parent_id: string | null; version: number; amount: string; flag: boolean; ts: string; payload: string }>(
      `SELECT id::text AS id, ${parent} AS parent_id, version, amount::text AS amount, flag,
              (extract(epoch FROM updated_at) * 1000000)::int8::text AS ts, payload
         FROM ${tableName(table)} AS t WHERE t.id > $1 ORDER BY t.id LIMIT $2`,
      [afterId, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      parentId: r.parent_id,
      version: r.version,
      amount: r.amount,
      flag: r.flag,
      updatedAtMicros: r.ts,
      payload: r.payload,
    }));
  }

  async count(table: number): Promise<number> {
    const rows = await this.one<{ n: string }>(`SELECT count(*) AS n FROM ${tableName(table)}`);
    return Number(rows[0]!.n);
  }

  async readMarker(): Promise<number> {
    const rows = await this.one<{ version: number }>(`SELECT version FROM ${tableName(0)} WHERE id = ${MARKER_ID}`);
    return rows[0]?.version ?? 0;
  }

  async observeMarker(onVersion: (version: number, atMs: number) => void): Promise<MarkerObserver> {
    const client = await this.connect();
    client.on('notification', (n) => {
      const at = performance.now();
      if (n.channel === 'molt_bench_marker' && n.payload) onVersion(Number(n.payload), at);
    });
    await client.query('LISTEN molt_bench_marker');
    return { method: 'LISTEN/NOTIFY from a trigger on the marker row (delivered at commit)', close: () => client.end() };
  }

  drop = () => dropPgDatabase(this.adminUrl, this.name);
}

export class PostgresTarget implements BenchTarget {
  readonly kind = 'postgres';
  constructor(private readonly adminUrl: string) {}

  version = () => pgServerVersion(this.adminUrl);

  async createDatabase(name: string, tables: number): Promise<TargetDb> {
    await createPgDatabase(this.adminUrl, checkName(name));
    const db = new PgTargetDb(this.adminUrl, name, pgUrlFor(this.adminUrl, name));
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      for (const stmt of ddl(tables)) await client.query(stmt);
    } finally {
      await client.end();
    }
    return db;
  }

  listStale = (prefix: string) => listPgDatabases(this.adminUrl, prefix);
  dropDatabase = (name: string) => dropPgDatabase(this.adminUrl, name);
}
