/**
 * The staging store: durable intake of mutations and resolved timestamps, the applied checkpoint, apply
 * leases, and the reads the sequencer needs. Every write is idempotent (duplicates hit a primary key and
 * do nothing), and every method is safe to call concurrently, from any number of engine processes
 * sharing the schema.
 */
import type pg from 'pg';
import { compareHlc, ZERO_HLC, type Hlc } from '../../lib/hlc.js';
import type { SchemaProgress, StagedRow } from '../resolve/ports.js';
import type { TargetSchema } from '../types.js';
import { STAGING_VERSION, stagingSql, type StagingSql } from './sql.js';

/** A mutation to stage (raw JSON text). */
export interface StageRow {
  readonly hlc: Hlc;
  readonly table: string;
  readonly key: string;
  readonly after: string | null;
  readonly before?: string | null;
}

export interface PutResult {
  /** Rows newly staged, per table as sent. */
  readonly inserted: Map<string, number>;
  /** Rows that were already staged (duplicate deliveries), per table. */
  readonly duplicates: Map<string, number>;
}

export type ResolvedOutcome = 'stored' | 'duplicate' | 'backwards';

/** Rows per insert statement and bytes of JSON per statement (CockroachDB's default limit on one message is 16 MiB). */
const INSERT_MAX_ROWS = 5000;
const INSERT_MAX_BYTES = 4 * 1024 * 1024;

const hlcOf = (nanos: string, logical: number | string): Hlc => ({ nanos: BigInt(nanos), logical: Number(logical) });
const msInterval = (ms: number) => `${Math.max(1, Math.round(ms))} milliseconds`;

interface MutationRecord {
  nanos: string;
  logical: number;
  table_name: string;
  key_json: string;
  after_json: string | null;
  before_json: string | null;
}

const toStaged = (r: MutationRecord): StagedRow => ({ hlc: hlcOf(r.nanos, r.logical), table: r.table_name, key: r.key_json, after: r.after_json, before: r.before_json });

export class StagingStore {
  readonly sql: StagingSql;
  private readonly registered = new Set<string>();

  constructor(
    readonly pool: pg.Pool,
    /** Staging schema name (the pool is connected to the staging database). */
    readonly schemaName: string,
  ) {
    this.sql = stagingSql(schemaName);
  }

  /** Creates the tables (idempotent) and checks the layout version. */
  async init(): Promise<void> {
    for (const ddl of this.sql.ddl) {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.pool.query(ddl);
          break;
        } catch (err) {
          // PostgreSQL can report a unique violation when two processes create the same table at once.
          if (attempt < 3 && ['23505', '42P07'].includes((err as { code?: string }).code ?? '')) continue;
          throw err;
        }
      }
    }
    await this.pool.query(this.sql.memoInit, [String(STAGING_VERSION)]);
    const v = await this.pool.query<{ value: string }>(this.sql.memoGet);
    const found = Number(v.rows[0]?.value ?? STAGING_VERSION);
    if (found > STAGING_VERSION) {
      throw new Error(`the staging schema was created by a newer molt-failback (layout version ${found}, this build knows ${STAGING_VERSION}); upgrade molt-failback`);
    }
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  /** Makes the schema known to staging (so any instance can bootstrap its apply loop). Idempotent. */
  async register(schema: TargetSchema): Promise<void> {
    if (this.registered.has(schema.key)) return;
    await this.pool.query(this.sql.register, [schema.key, JSON.stringify(schema.parts)]);
    this.registered.add(schema.key);
  }

  /**
   * Stages mutations atomically: one statement, or one transaction when the batch is large. Duplicate
   * (HLC, table, key) rows in the input keep the last occurrence, like MOLT Replicator.
   */
  async putMutations(schema: TargetSchema, rows: readonly StageRow[]): Promise<PutResult> {
    await this.register(schema);
    const unique = new Map<string, StageRow>();
    for (const r of rows) {
      const k = `${r.hlc.nanos}.${r.hlc.logical}\u0000${r.table}\u0000${r.key}`;
      unique.delete(k);
      unique.set(k, r);
    }
    const list = [...unique.values()];
    const sent = new Map<string, number>();
    for (const r of rows) sent.set(r.table, (sent.get(r.table) ?? 0) + 1);
    const inserted = new Map<string, number>();
    const chunks: StageRow[][] = [];
    let cur: StageRow[] = [];
    let bytes = 0;
    for (const r of list) {
      const size = r.key.length + (r.after?.length ?? 0) + (r.before?.length ?? 0) + 64;
      if (cur.length > 0 && (cur.length >= INSERT_MAX_ROWS || bytes + size > INSERT_MAX_BYTES)) {
        chunks.push(cur);
        cur = [];
        bytes = 0;
      }
      cur.push(r);
      bytes += size;
    }
    if (cur.length > 0) chunks.push(cur);

    const run = async (q: pg.Pool | pg.PoolClient, chunk: StageRow[]) => {
      const res = await q.query<{ table_name: string }>(this.sql.insertMutations, [
        schema.key,
        chunk.map((r) => r.hlc.nanos.toString()),
        chunk.map((r) => r.hlc.logical),
        chunk.map((r) => r.table),
        chunk.map((r) => r.key),
        chunk.map((r) => r.after),
        chunk.map((r) => r.before ?? null),
      ]);
      for (const row of res.rows) inserted.set(row.table_name, (inserted.get(row.table_name) ?? 0) + 1);
    };

    if (chunks.length === 1) {
      await run(this.pool, chunks[0] as StageRow[]);
    } else if (chunks.length > 1) {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        for (const chunk of chunks) await run(client, chunk);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    }
    const duplicates = new Map<string, number>();
    for (const [t, n] of sent) {
      const d = n - (inserted.get(t) ?? 0);
      if (d > 0) duplicates.set(t, d);
    }
    return { inserted, duplicates };
  }

  /**
   * Records a resolved timestamp. One older than the newest received (or the applied checkpoint) is not
   * stored: it can only come from a changefeed restarted at an older cursor, whose rows are all
   * re-sends, so ignoring it loses nothing.
   */
  async putResolved(schema: TargetSchema, hlc: Hlc): Promise<ResolvedOutcome> {
    await this.register(schema);
    const [latest, cp] = await Promise.all([
      this.pool.query<{ nanos: string; logical: number }>(this.sql.latestResolved, [schema.key]),
      this.pool.query<{ nanos: string; logical: number }>(this.sql.checkpointOf, [schema.key]),
    ]);
    const newest = latest.rows[0] ? hlcOf(latest.rows[0].nanos, latest.rows[0].logical) : ZERO_HLC;
    const applied = cp.rows[0] ? hlcOf(cp.rows[0].nanos, cp.rows[0].logical) : ZERO_HLC;
    if (compareHlc(hlc, newest) < 0 || compareHlc(hlc, applied) < 0) return 'backwards';
    if (compareHlc(hlc, newest) === 0 || compareHlc(hlc, applied) === 0) return 'duplicate';
    const res = await this.pool.query(this.sql.insertResolved, [schema.key, hlc.nanos.toString(), hlc.logical]);
    return res.rowCount === 0 ? 'duplicate' : 'stored';
  }

  async progress(): Promise<SchemaProgress[]> {
    const cps = await this.pool.query<{ target_schema: string; schema_parts: string; nanos: string; logical: number }>(this.sql.checkpoints);
    // One index lookup per schema: the resolved table can grow while a schema's apply is failing, and
    // this runs every --flushPeriod on every instance.
    const latest = await Promise.all(cps.rows.map((c) => this.pool.query<{ nanos: string; logical: number }>(this.sql.latestResolved, [c.target_schema])));
    return cps.rows.map((c, i) => {
      let parts: string[];
      try {
        parts = JSON.parse(c.schema_parts) as string[];
      } catch {
        parts = c.target_schema.split('.');
      }
      const r = latest[i]?.rows[0];
      return {
        schema: { key: c.target_schema, parts },
        applied: hlcOf(c.nanos, c.logical),
        resolved: r ? hlcOf(r.nanos, r.logical) : ZERO_HLC,
      };
    });
  }

  async readRange(schemaKey: string, applied: Hlc, upTo: Hlc, limit: number): Promise<StagedRow[]> {
    const res = await this.pool.query<MutationRecord>(this.sql.readRange, [schemaKey, applied.nanos.toString(), applied.logical, upTo.nanos.toString(), upTo.logical, limit]);
    return res.rows.map(toStaged);
  }

  async readHlc(schemaKey: string, hlc: Hlc, pageSize = 10_000): Promise<StagedRow[]> {
    const out: StagedRow[] = [];
    let table = '';
    let key = '';
    for (;;) {
      const res = await this.pool.query<MutationRecord>(this.sql.readHlcPage, [schemaKey, hlc.nanos.toString(), hlc.logical, table, key, pageSize]);
      for (const r of res.rows) out.push(toStaged(r));
      if (res.rows.length < pageSize) return out;
      const last = res.rows[res.rows.length - 1] as MutationRecord;
      table = last.table_name;
      key = last.key_json;
    }
  }

  async markApplied(schemaKey: string, to: Hlc, leaseHolder: string): Promise<boolean> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const lease = await client.query(this.sql.lockLease, [`apply:${schemaKey}`, leaseHolder]);
      if (lease.rowCount === 0) {
        await client.query('ROLLBACK');
        return false;
      }
      await client.query(this.sql.advanceCheckpoint, [schemaKey, to.nanos.toString(), to.logical]);
      await client.query('COMMIT');
      return true;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async retire(schemaKey: string, applied: Hlc): Promise<number> {
    if (applied.nanos === 0n && applied.logical === 0) return 0;
    const args = [schemaKey, applied.nanos.toString(), applied.logical];
    const res = await this.pool.query(this.sql.retireMutations, args);
    await this.pool.query(this.sql.retireResolved, args);
    return res.rowCount ?? 0;
  }

  async countPending(schemaKey: string, applied: Hlc, limit: number): Promise<number> {
    const res = await this.pool.query<{ n: string }>(this.sql.countPending, [schemaKey, applied.nanos.toString(), applied.logical, limit]);
    return Number(res.rows[0]?.n ?? 0);
  }

  async acquire(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const res = await this.pool.query(this.sql.acquireLease, [name, holder, msInterval(ttlMs)]);
    return (res.rowCount ?? 0) > 0;
  }

  async renew(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const res = await this.pool.query(this.sql.renewLease, [name, holder, msInterval(ttlMs)]);
    return (res.rowCount ?? 0) > 0;
  }

  async release(name: string, holder: string): Promise<void> {
    await this.pool.query(this.sql.releaseLease, [name, holder]);
  }
}
