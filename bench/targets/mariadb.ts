/**
 * MariaDB as the bench target (--target mariadb). MariaDB has no commit notification, so commits are
 * observed by polling the marker row; a poll that sees a new version dates the commit to the moment
 * that poll started (its snapshot), so the error is at most one polling interval plus a round trip.
 */
import mysql from 'mysql2/promise';
import { tableName, MARKER_ID } from '../workload/rows.js';
import { checkName } from './pg-admin.js';
import type { BaselineWriter, BenchTarget, MarkerObserver, TargetDb, TargetRow, WriteRow } from './target.js';

const COLUMNS = (table: number) =>
  table === 0
    ? ['id', 'version', 'amount', 'flag', 'updated_at', 'payload']
    : ['id', 'parent_id', 'version', 'amount', 'flag', 'updated_at', 'payload'];

function ddl(tables: number): string[] {
  return Array.from({ length: tables }, (_, i) => {
    const cols = [
      'id BIGINT PRIMARY KEY',
      ...(i === 0 ? [] : ['parent_id BIGINT NOT NULL']),
      'version INT NOT NULL',
      'amount DECIMAL(12,2) NOT NULL',
      'flag BOOLEAN NOT NULL',
      'updated_at TIMESTAMP(6) NOT NULL',
      'payload TEXT NOT NULL',
      // InnoDB adds the index on the referencing column itself.
      ...(i === 0 ? [] : [`FOREIGN KEY (parent_id) REFERENCES ${tableName(i - 1)} (id)`]),
    ];
    return `CREATE TABLE ${tableName(i)} (${cols.join(', ')}) ENGINE=InnoDB`;
  });
}

/** 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC, the literal MariaDB takes for TIMESTAMP(6) with time_zone '+00:00'. */
function datetimeMicros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const base = new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
  return `${base}.${String((ms % 1000) * 1000 + (micros % 1000)).padStart(6, '0')}`;
}

async function connect(url: string): Promise<mysql.Connection> {
  const conn = await mysql.createConnection({
    uri: url,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    multipleStatements: false,
  });
  await conn.query("SET time_zone = '+00:00'");
  return conn;
}

class MariaDbWriter implements BaselineWriter {
  private readonly sql = new Map<string, string>();
  constructor(private readonly conn: mysql.Connection) {}

  begin = async () => void (await this.conn.query('BEGIN'));
  commit = async () => void (await this.conn.query('COMMIT'));
  close = () => this.conn.end();

  async upsert(table: number, rows: readonly WriteRow[]): Promise<void> {
    const cols = COLUMNS(table);
    const key = `u${table}:${rows.length}`;
    let text = this.sql.get(key);
    if (!text) {
      const tuple = `(${cols.map(() => '?').join(',')})`;
      const set = cols.slice(1).map((c) => `${c} = VALUES(${c})`);
      text = `INSERT INTO ${tableName(table)} (${cols.join(',')}) VALUES ${rows.map(() => tuple).join(',')} ON DUPLICATE KEY UPDATE ${set.join(', ')}`;
      this.sql.set(key, text);
    }
    const params: unknown[] = [];
    for (const row of rows) {
      params.push(row.id);
      if (table > 0) params.push(row.parentId);
      params.push(row.version, row.amount, row.flag, datetimeMicros(row.updatedAtMicros), row.payload);
    }
    await this.conn.query(text, params);
  }

  async delete(table: number, ids: readonly string[]): Promise<void> {
    await this.conn.query(`DELETE FROM ${tableName(table)} WHERE id IN (${ids.map(() => '?').join(',')})`, ids as string[]);
  }
}

class MariaDbTargetDb implements TargetDb {
  readonly webhookPath: string;
  constructor(
    private readonly target: MariaDbTarget,
    readonly name: string,
    readonly url: string,
  ) {
    this.webhookPath = `/${name}`;
  }

  private async all<T>(text: string, params: unknown[] = []): Promise<T[]> {
    const conn = await connect(this.url);
    try {
      const [rows] = await conn.query(text, params);
      return rows as T[];
    } finally {
      await conn.end();
    }
  }

  async openWriter(): Promise<BaselineWriter> {
    return new MariaDbWriter(await connect(this.url));
  }

  async readPage(table: number, afterId: string, limit: number): Promise<TargetRow[]> {
    const parent = table === 0 ? 'NULL' : 'CAST(parent_id AS CHAR)';
    const rows = await this.all<{ id: string; parent_id: string | null; version: number; amount: string; flag: number; ts: string; payload: string }>(
      `SELECT CAST(id AS CHAR) AS id, ${parent} AS parent_id, version, CAST(amount AS CHAR) AS amount, flag,
              CAST(ROUND(UNIX_TIMESTAMP(updated_at) * 1000000) AS CHAR) AS ts, payload
         FROM ${tableName(table)} AS t WHERE t.id > ? ORDER BY t.id LIMIT ?`,
      [afterId, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      parentId: r.parent_id,
      version: Number(r.version),
      amount: r.amount,
      flag: Number(r.flag) !== 0,
      updatedAtMicros: r.ts,
      payload: r.payload,
    }));
  }

  async count(table: number): Promise<number> {
    const rows = await this.all<{ n: string }>(`SELECT COUNT(*) AS n FROM ${tableName(table)}`);
    return Number(rows[0]!.n);
  }

  async readMarker(): Promise<number> {
    const rows = await this.all<{ version: number }>(`SELECT version FROM ${tableName(0)} WHERE id = ${MARKER_ID}`);
    return rows.length > 0 ? Number(rows[0]!.version) : 0;
  }

  async observeMarker(onVersion: (version: number, atMs: number) => void, pollMs: number): Promise<MarkerObserver> {
    const conn = await connect(this.url);
    let stopped = false;
    let last = 0;
    const loop = (async () => {
      while (!stopped) {
        const started = performance.now();
        const [rows] = await conn.query(`SELECT version FROM ${tableName(0)} WHERE id = ${MARKER_ID}`);
        const v = (rows as { version: number }[])[0]?.version;
        if (v !== undefined && Number(v) > last) {
          last = Number(v);
          onVersion(last, started);
        }
        const wait = pollMs - (performance.now() - started);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    })();
    return {
      method: `polling the marker row every ${pollMs} ms (commit dated to the start of the first poll that sees it)`,
      close: async () => {
        stopped = true;
        await loop.catch(() => undefined);
        await conn.end();
      },
    };
  }

  drop = () => this.target.dropDatabase(this.name);
}

export class MariaDbTarget implements BenchTarget {
  readonly kind = 'mariadb';
  constructor(private readonly adminUrl: string) {}

  private async admin<T>(fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
    let conn: mysql.Connection;
    try {
      conn = await mysql.createConnection(this.adminUrl);
    } catch (err) {
      throw new Error(
        `MariaDB is not reachable at ${new URL(this.adminUrl).host} (${(err as Error).message}). ` +
          'Start it with: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd',
      );
    }
    try {
      return await fn(conn);
    } finally {
      await conn.end();
    }
  }

  version = () => this.admin(async (c) => String(((await c.query('SELECT VERSION() AS v'))[0] as { v: string }[])[0]!.v));

  async createDatabase(name: string, tables: number): Promise<TargetDb> {
    await this.admin((c) => c.query(`CREATE DATABASE \`${checkName(name)}\``));
    const url = new URL(this.adminUrl);
    url.pathname = `/${name}`;
    const db = new MariaDbTargetDb(this, name, url.toString());
    const conn = await connect(db.url);
    try {
      for (const stmt of ddl(tables)) await conn.query(stmt);
    } finally {
      await conn.end();
    }
    return db;
  }

  listStale = (prefix: string) =>
    this.admin(async (c) => {
      const [rows] = await c.query('SELECT schema_name AS n FROM information_schema.schemata WHERE schema_name LIKE ?', [`${prefix}%`]);
      return (rows as { n: string }[]).map((r) => r.n);
    });

  dropDatabase = (name: string) => this.admin(async (c) => void (await c.query(`DROP DATABASE IF EXISTS \`${checkName(name)}\``)));
}
