/**
 * The staging store: durable intake of mutations and resolved timestamps, the applied checkpoint, apply
 * leases, and the reads the sequencer needs. Every write is idempotent (duplicates hit a primary key and
 * do nothing), and every method is safe to call concurrently, from any number of engine processes
 * sharing the schema.
 */
import type pg from 'pg';
import { Semaphore } from '../../lib/concurrency.js';
import { compareHlc, ZERO_HLC, type Hlc } from '../../lib/hlc.js';
import type { SchemaProgress, StagedRow } from '../resolve/ports.js';
import type { RawText, RememberedKeyOrder, TargetSchema } from '../types.js';
import { int4Array, int8Array, textArray } from '../pg-arrays.js';
import { STAGING_VERSION, stagingSql, type StagingSql } from './sql.js';

/** A mutation to stage (raw JSON text). */
export interface StageRow {
  readonly hlc: Hlc;
  readonly table: string;
  readonly key: string;
  readonly after: string | null;
  readonly before?: string | null;
  /** The bytes of `after`, when the caller has them (copied into the insert without re-encoding). */
  readonly rawAfter?: RawText | null;
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
/** Memo keys of remembered delete-key orders. */
const KEY_ORDER_PREFIX = 'key-order:';
const INSERT_MAX_BYTES = 4 * 1024 * 1024;

/** An HLC from a staging row's nanos (INT8 arrives as text) and logical columns. */
export const hlcOf = (nanos: string, logical: number | string): Hlc => ({ nanos: BigInt(nanos), logical: Number(logical) });

/** A checkpoint row's schema_parts (JSON text); the key split at its dots when that does not parse. */
export function schemaPartsOf(targetSchema: string, schemaParts: string): string[] {
  try {
    return JSON.parse(schemaParts) as string[];
  } catch {
    return targetSchema.split('.');
  }
}
const msInterval = (ms: number) => `${Math.max(1, Math.round(ms))} milliseconds`;

/** A staged row as read (rowMode 'array'): nanos, logical, table_name, key_json, after_json, before_json. */
type RecordRow = [nanos: string, logical: number, table: string, key: string, after: string | null, before: string | null];

/**
 * Drops repeated (HLC, table, key) rows of one batch, keeping the last occurrence like MOLT Replicator.
 * Repeats are rare and can only share an HLC, so the first pass only looks for one, run by run of rows
 * with equal HLCs (a source transaction's rows arrive together): small runs compare pairwise, large
 * ones through a set, and an HLC already seen in an earlier run takes the general path.
 */
function dedupe(rows: readonly StageRow[]): StageRow[] {
  if (!hasRepeats(rows)) return rows as StageRow[];
  const unique = new Map<string, StageRow>();
  for (const r of rows) {
    const k = `${r.hlc.nanos}.${r.hlc.logical}\u0000${r.table}\u0000${r.key}`;
    if (unique.has(k)) unique.delete(k);
    unique.set(k, r);
  }
  return [...unique.values()];
}

/** True when some (HLC, table, key) may repeat (a false positive only costs the general path). */
function hasRepeats(rows: readonly StageRow[]): boolean {
  const runs = new Map<bigint, number[]>();
  const n = rows.length;
  let i = 0;
  while (i < n) {
    const h = (rows[i] as StageRow).hlc;
    let j = i + 1;
    for (; j < n; j++) {
      const g = (rows[j] as StageRow).hlc;
      if (g !== h && (g.nanos !== h.nanos || g.logical !== h.logical)) break;
    }
    const logicals = runs.get(h.nanos);
    if (logicals?.includes(h.logical)) return true;
    if (logicals) logicals.push(h.logical);
    else runs.set(h.nanos, [h.logical]);
    if (j - i > 16) {
      const seen = new Set<string>();
      for (let a = i; a < j; a++) {
        const r = rows[a] as StageRow;
        const k = `${r.table}\u0000${r.key}`;
        if (seen.has(k)) return true;
        seen.add(k);
      }
    } else {
      for (let a = i; a < j; a++) {
        const ra = rows[a] as StageRow;
        for (let b = a + 1; b < j; b++) {
          const rb = rows[b] as StageRow;
          if (ra.key === rb.key && ra.table === rb.table) return true;
        }
      }
    }
    i = j;
  }
  return false;
}

/**
 * Staged rows from records; consecutive rows of one source transaction share one Hlc object, and table
 * names one string (the driver makes a new one per row).
 */
function toStaged(records: readonly RecordRow[], out: StagedRow[] = []): StagedRow[] {
  let hlc: Hlc = ZERO_HLC;
  let nanos = '';
  let logical = -1;
  const tables = new Map<string, string>();
  for (const r of records) {
    const l = Number(r[1]);
    if (r[0] !== nanos || l !== logical) {
      nanos = r[0];
      logical = l;
      hlc = { nanos: BigInt(nanos), logical };
    }
    let table = tables.get(r[2]);
    if (table === undefined) tables.set(r[2], (table = r[2]));
    out.push({ hlc, table, key: r[3], after: r[4], before: r[5] });
  }
  return out;
}

/** SQLSTATE of a unique violation (PostgreSQL and CockroachDB). */
const UNIQUE_VIOLATION = '23505';
/** How long staging keeps using the duplicate-tolerant insert after a batch held a duplicate. */
const TOLERANT_MS = 10_000;

function countDuplicates(sent: ReadonlyMap<string, number>, inserted: ReadonlyMap<string, number>): Map<string, number> {
  const duplicates = new Map<string, number>();
  for (const [t, n] of sent) {
    const d = n - (inserted.get(t) ?? 0);
    if (d > 0) duplicates.set(t, d);
  }
  return duplicates;
}

export class StagingStore {
  readonly sql: StagingSql;
  private readonly registered = new Set<string>();
  /** Until when putMutations skips the plain insert (epoch ms; see putMutations). */
  private tolerantUntil = 0;
  /**
   * At most --stagingWriteParallelism staging writes at once, first come first served. Staged keys grow
   * with the HLC, so concurrent inserts all go to the same end of the primary-key index and contend
   * there: on PostgreSQL four at once cost 50% more server CPU per row than one, for the same throughput.
   */
  private readonly writeSlots: Semaphore;

  constructor(
    readonly pool: pg.Pool,
    /** Staging schema name (the pool is connected to the staging database). */
    readonly schemaName: string,
    options: { now?: () => number; writeParallelism?: number } = {},
  ) {
    this.sql = stagingSql(schemaName);
    this.now = options.now ?? Date.now;
    this.writeSlots = new Semaphore(options.writeParallelism ?? 2);
  }

  private readonly now: () => number;

  /** Creates the tables (idempotent) and checks the layout version. */
  async init(): Promise<void> {
    for (const ddl of this.sql.ddl) {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.pool.query(ddl);
          break;
        } catch (err) {
          // Two processes creating the same table at once: PostgreSQL may report a unique violation in its
          // catalog (23505), the relation (42P07) or its row type (42710, 'type "..." already exists').
          if (attempt < 3 && ['23505', '42P07', '42710'].includes((err as { code?: string }).code ?? '')) continue;
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

  /**
   * Remembers a delete-key order learned from upserts (apply/key-order.ts) in the memo table, so a
   * restarted engine or another instance maps deletes by it. The value holds the whole entry; the key
   * only makes it unique per target schema and table.
   */
  async saveKeyOrder(order: RememberedKeyOrder): Promise<void> {
    const value = JSON.stringify({ schema: order.schema, table: order.table, columns: order.columns });
    await this.pool.query(this.sql.memoPut, [`${KEY_ORDER_PREFIX}${JSON.stringify([order.schema, order.table])}`, value]);
  }

  async loadKeyOrders(): Promise<RememberedKeyOrder[]> {
    // ';' is the character after ':', so the range holds exactly the keys with the prefix.
    const res = await this.pool.query<{ key: string; value: string }>(this.sql.memoRange, [KEY_ORDER_PREFIX, `${KEY_ORDER_PREFIX.slice(0, -1)};`]);
    const out: RememberedKeyOrder[] = [];
    for (const r of res.rows) {
      try {
        const v = JSON.parse(r.value) as Partial<RememberedKeyOrder>;
        const ok = typeof v.schema === 'string' && typeof v.table === 'string' && Array.isArray(v.columns) && v.columns.every((c) => typeof c === 'string');
        if (ok) out.push({ schema: v.schema as string, table: v.table as string, columns: v.columns as string[] });
      } catch {
        // A damaged entry is skipped: deletes of that table fall back to learning again.
      }
    }
    return out;
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
   * (HLC, table, key) rows in the input keep the last occurrence, like MOLT Replicator. Once `signal`
   * aborts (the caller has answered 503), a write still waiting for a slot never starts and a
   * multi-statement one rolls back before its next statement.
   */
  async putMutations(schema: TargetSchema, rows: readonly StageRow[], options: { signal?: AbortSignal } = {}): Promise<PutResult> {
    const { signal } = options;
    await this.register(schema);
    const list = dedupe(rows);
    const sent = new Map<string, number>();
    for (const r of rows) sent.set(r.table, (sent.get(r.table) ?? 0) + 1);
    const inserted = new Map<string, number>();
    const chunks: StageRow[][] = [];
    let cur: StageRow[] = [];
    let bytes = 0;
    for (const r of list) {
      const afterSize = r.rawAfter !== undefined ? (r.rawAfter ? r.rawAfter.end - r.rawAfter.start : 0) : (r.after?.length ?? 0);
      const size = r.key.length + afterSize + (r.before?.length ?? 0) + 64;
      if (cur.length > 0 && (cur.length >= INSERT_MAX_ROWS || bytes + size > INSERT_MAX_BYTES)) {
        chunks.push(cur);
        cur = [];
        bytes = 0;
      }
      cur.push(r);
      bytes += size;
    }
    if (cur.length > 0) chunks.push(cur);

    const params = (chunk: StageRow[]): unknown[] => {
      const n = chunk.length;
      const nanos = new Array<bigint>(n);
      const logical = new Array<number>(n);
      const tables = new Array<string>(n);
      const keys = new Array<string>(n);
      const afters = new Array<string | RawText | null>(n);
      const befores = new Array<string | null>(n);
      for (let i = 0; i < n; i++) {
        const r = chunk[i] as StageRow;
        nanos[i] = r.hlc.nanos;
        logical[i] = r.hlc.logical;
        tables[i] = r.table;
        keys[i] = r.key;
        // Reading `after` of a sink mutation would decode it: use its bytes when they are there.
        afters[i] = r.rawAfter !== undefined ? r.rawAfter : r.after;
        befores[i] = r.before ?? null;
      }
      // Binary-format arrays (see pg-arrays.ts): the JSON texts go to the server byte for byte.
      return [schema.key, int8Array(nanos), int4Array(logical), textArray(tables), textArray(keys), textArray(afters), textArray(befores)];
    };
    const runPlain = async (q: pg.Pool | pg.PoolClient, chunk: StageRow[]) => {
      await q.query(this.sql.insertMutationsPlain, params(chunk));
      for (const r of chunk) inserted.set(r.table, (inserted.get(r.table) ?? 0) + 1);
    };
    const runTolerant = async (q: pg.Pool | pg.PoolClient, chunk: StageRow[]) => {
      const res = await q.query<{ table_name: string; n: string }>(this.sql.insertMutations, params(chunk));
      for (const row of res.rows) inserted.set(row.table_name, (inserted.get(row.table_name) ?? 0) + Number(row.n));
    };
    const all = async (q: pg.Pool | pg.PoolClient, run: typeof runPlain) => {
      for (const chunk of chunks) {
        signal?.throwIfAborted();
        await run(q, chunk);
      }
    };
    const inTransaction = async (run: typeof runPlain) => {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        await all(client, run);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    };
    const attempt = (run: typeof runPlain) => this.writeSlots.run(() => (chunks.length === 1 ? all(this.pool, run) : inTransaction(run)), signal);

    // A plain INSERT costs the staging database about 40 % less than INSERT ... ON CONFLICT DO NOTHING
    // (measured on PostgreSQL 15: 3.0 against 5.2 ms of server CPU per 1,000 rows; the speculative
    // insertion behind ON CONFLICT is the difference), and duplicates are rare: they come from
    // re-deliveries. So the plain form goes first; a unique violation (nothing was written: the
    // statement or transaction is atomic) falls back to the duplicate-tolerant form, which is then used
    // for a while, since re-deliveries come in runs.
    if (chunks.length > 0) {
      if (this.now() >= this.tolerantUntil) {
        try {
          await attempt(runPlain);
          return { inserted, duplicates: countDuplicates(sent, inserted) };
        } catch (err) {
          if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
          inserted.clear();
          this.tolerantUntil = this.now() + TOLERANT_MS;
        }
      }
      await attempt(runTolerant);
    }
    return { inserted, duplicates: countDuplicates(sent, inserted) };
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
      const r = latest[i]?.rows[0];
      return {
        schema: { key: c.target_schema, parts: schemaPartsOf(c.target_schema, c.schema_parts) },
        applied: hlcOf(c.nanos, c.logical),
        resolved: r ? hlcOf(r.nanos, r.logical) : ZERO_HLC,
      };
    });
  }

  async readRange(schemaKey: string, applied: Hlc, upTo: Hlc, limit: number): Promise<StagedRow[]> {
    // Rows as arrays: one object fewer per staged row than pg's named-column objects (a page is 10,000).
    const res = await this.pool.query<RecordRow>({
      text: this.sql.readRange,
      values: [schemaKey, applied.nanos.toString(), applied.logical, upTo.nanos.toString(), upTo.logical, limit],
      rowMode: 'array',
    });
    return toStaged(res.rows);
  }

  async readHlc(schemaKey: string, hlc: Hlc, pageSize = 10_000): Promise<StagedRow[]> {
    const out: StagedRow[] = [];
    let table = '';
    let key = '';
    for (;;) {
      const res = await this.pool.query<RecordRow>({ text: this.sql.readHlcPage, values: [schemaKey, hlc.nanos.toString(), hlc.logical, table, key, pageSize], rowMode: 'array' });
      toStaged(res.rows, out);
      if (res.rows.length < pageSize) return out;
      const last = out[out.length - 1] as StagedRow;
      table = last.table;
      key = last.key;
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

  /**
   * With `from`: deletes the staged rows of one applied window, from < HLC <= applied (a narrow range
   * scan). Without: the catch-all sweep, every staged row at or below `applied` (late re-sends that
   * arrived after their window was retired) and the resolved timestamps below it.
   */
  async retire(schemaKey: string, applied: Hlc, from?: Hlc): Promise<number> {
    if (applied.nanos === 0n && applied.logical === 0) return 0;
    if (from) {
      if (compareHlc(from, applied) >= 0) return 0;
      const res = await this.pool.query(this.sql.retireWindow, [schemaKey, from.nanos.toString(), from.logical, applied.nanos.toString(), applied.logical]);
      return res.rowCount ?? 0;
    }
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
