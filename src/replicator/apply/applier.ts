/**
 * Executes apply plans against the target: one transaction per plan, retries with backoff for
 * transient errors, FK violations handed back as 'defer', everything else 'fatal'.
 */
import { performance } from 'node:perf_hooks';
import { redactText } from '../../lib/conn.js';
import { errorChain } from '../../lib/error-chain.js';
import type { Logger } from '../../lib/log.js';
import {
  TargetSchemaError,
  type ApplyCounts,
  type ApplyOp,
  type ApplyPlan,
  type ErrorClass,
  type SchemaInfo,
  type PreparedWrite,
  type TableInfo,
  type TargetPool,
  type TargetSchema,
  type TargetTx,
  type WriteResult,
} from '../types.js';
import { ApplyError } from './apply-error.js';
import { backoffDelay, sleep } from './backoff.js';
import { KeyOrders, type KeyOrderMemory } from './key-order.js';
import { SchemaCache } from './schema-cache.js';
import { childFirstDelete, orderSelfReferences, type WriteOp } from './self-fk.js';

export interface ApplierOptions {
  pool: TargetPool;
  log: Logger;
  /** Retries after the first attempt for retry-class errors (so at most maxRetries + 1 attempts). */
  maxRetries: number;
  retryInitialBackoffMs: number;
  retryMaxBackoffMs: number;
  retryMultiplier: number;
  /** Source (CockroachDB) primary-key column order per table (lower-cased table name), when it differs from the target's. */
  sourceKeyColumns?: ReadonlyMap<string, readonly string[]>;
  /** Where key orders learned from upserts are remembered across restarts and instances (staging). */
  keyOrderMemory?: KeyOrderMemory;
  /** Re-introspect at most this often (default 60000 ms), and always on an unknown table. */
  schemaRefreshMs?: number;
  /** When true, close() also closes `pool`. By default the pool belongs to the caller. */
  ownsPool?: boolean;
  /** For tests: jitter source (default Math.random). */
  random?: () => number;
}

export interface ApplyOutcome {
  counts: ApplyCounts;
  /** Transactions tried, the successful one included. */
  attempts: number;
  durationMs: number;
  /** Statements executed by the successful attempt. */
  statements: number;
}

/** The write of one op, in two steps when the dialect offers them (see TargetTx.prepareUpsert). */
function prepareWrite(tx: TargetTx, schema: TargetSchema, op: Prepared): PreparedWrite {
  if (op.kind === 'upsert') {
    return tx.prepareUpsert ? tx.prepareUpsert(schema, op.table, op.rows) : (options) => tx.upsert(schema, op.table, op.rows, options);
  }
  if (op.childFirst) return childFirstDelete(tx, schema, op.table, op.keys);
  return tx.prepareDelete ? tx.prepareDelete(schema, op.table, op.keys) : (options) => tx.delete(schema, op.table, op.keys, options);
}

/** One op made ready for the transaction: its table and, for deletes, keys in target order. */
type Prepared = WriteOp;

/** The first code in the cause chain; a numeric errno counts when an error has no code. */
const firstCode = (err: unknown): string | undefined => {
  for (const e of errorChain(err)) {
    const c = (e as { code?: unknown }).code ?? (e as { errno?: unknown }).errno;
    if (typeof c === 'string' || typeof c === 'number') return String(c);
  }
  return undefined;
};

/**
 * The driver error as an ApplyError's cause, without the statement text and bind values some drivers
 * attach (mysql2's `sql` holds every inlined row value) and with URLs scrubbed from the message. The
 * codes that classification reads are kept.
 */
function scrubCause(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error) || err instanceof TargetSchemaError) return err;
  const inner = err.cause === undefined || depth >= 4 ? undefined : { cause: scrubCause(err.cause, depth + 1) };
  const copy = new Error(redactText(err.message), inner);
  copy.name = err.name;
  const src = err as unknown as Record<string, unknown>;
  for (const k of ['code', 'errno', 'sqlState', 'sqlMessage', 'errorNum', 'severity', 'detail', 'hint', 'table', 'column', 'constraint']) {
    if (src[k] !== undefined) (copy as unknown as Record<string, unknown>)[k] = src[k];
  }
  return copy;
}

const findSchemaError = (err: unknown): TargetSchemaError | undefined => errorChain(err).find((e): e is TargetSchemaError => e instanceof TargetSchemaError);

export class Applier {
  private readonly cache: SchemaCache;
  private readonly keys: KeyOrders;
  private readonly closing = new AbortController();
  private closed = false;

  constructor(private readonly options: ApplierOptions) {
    this.cache = new SchemaCache(options.pool, options.log, options.schemaRefreshMs ?? 60_000);
    const memory = options.keyOrderMemory;
    this.keys = new KeyOrders(
      options.log,
      options.sourceKeyColumns,
      memory && ((order) => void memory.save(order).catch((err: unknown) => options.log.warn({ table: order.table, err: redactText((err as Error).message) }, 'could not remember a learned key order in staging'))),
    );
  }

  /** When the last remembered key orders were read (they are read again at most every 5 s, and only when needed). */
  private recalledAt = Number.NEGATIVE_INFINITY;

  /** Reads the orders other runs learned when a delete would otherwise be mapped by position. */
  private async recallKeyOrders(schema: TargetSchema, tables: Iterable<TableInfo>): Promise<void> {
    const memory = this.options.keyOrderMemory;
    if (!memory || performance.now() - this.recalledAt < 5000) return;
    if (![...tables].some((t) => this.keys.unknown(schema, t))) return;
    this.recalledAt = performance.now();
    try {
      this.keys.absorb(await memory.load());
    } catch (err) {
      this.options.log.warn({ err: redactText((err as Error).message) }, 'could not read remembered key orders from staging');
    }
  }

  /** Cached introspection; undefined when the schema does not exist. `refresh` forces a re-read. */
  schema(target: TargetSchema, options?: { refresh?: boolean }): Promise<SchemaInfo | undefined> {
    return this.cache.get(target, options?.refresh ?? false);
  }

  /**
   * Executes a plan in ONE target transaction (ops in the given order), retrying retry-class errors
   * with exponential backoff and jitter up to maxRetries (then ApplyError 'retry'); FK violations end
   * as ApplyError 'defer'; anything else ApplyError 'fatal'. A TargetSchemaError first triggers one
   * schema refresh and, if the catalog changed, one more try. Idempotent: re-applying a plan leaves the
   * same target state. Honours the abort signal between statements and during backoff: it then rejects
   * with the signal's reason (the transaction is rolled back). Safe to call concurrently.
   */
  async apply(plan: ApplyPlan, signal?: AbortSignal): Promise<ApplyOutcome> {
    if (this.closed) throw new ApplyError('the applier is closed', { errorClass: 'fatal', code: 'APPLY_CLOSED' });
    const started = performance.now();
    const abort = signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
    const { log, pool, maxRetries } = this.options;
    let attempts = 0;
    let schemaRetried = false;
    for (;;) {
      abort.throwIfAborted();
      attempts++;
      let currentTable: string | undefined;
      try {
        const { info, prepared } = await this.prepare(plan);
        const upserts = new Map<string, number>();
        const deletes = new Map<string, number>();
        let statements = 0;
        if (prepared.length > 0) {
          await pool.transaction(async (tx) => {
            // Each op is prepared (row images parsed, statements rendered: the engine's CPU work) while
            // the target still executes the op before it, when the dialect offers the two-step form;
            // the ops still run one after another, in plan order.
            let running: { op: Prepared; result: Promise<WriteResult> } | undefined;
            const settle = async () => {
              if (!running) return;
              const { op, result } = running;
              running = undefined;
              currentTable = op.table.name;
              const r = await result;
              const counts = op.kind === 'upsert' ? upserts : deletes;
              counts.set(op.table.name, (counts.get(op.table.name) ?? 0) + r.rows);
              statements += r.statements;
            };
            try {
              for (const op of prepared) {
                abort.throwIfAborted();
                let write: PreparedWrite;
                try {
                  write = prepareWrite(tx, info.schema, op);
                } catch (err) {
                  // The op before failing comes first, as if the ops had run strictly in turn.
                  await settle();
                  currentTable = op.table.name;
                  throw err;
                }
                await settle();
                abort.throwIfAborted();
                currentTable = op.table.name;
                running = { op, result: write({ signal: abort }) };
              }
              await settle();
              // The last statement may have outlived the lease: throwing here rolls back instead of committing.
              abort.throwIfAborted();
            } finally {
              // Never leave a write in flight unobserved when an earlier step failed.
              await running?.result.catch(() => undefined);
            }
          });
        }
        return { counts: { upserts, deletes }, attempts, durationMs: performance.now() - started, statements };
      } catch (err) {
        if (abort.aborted) throw abort.reason;
        if (err instanceof ApplyError) throw err;
        const schemaError = findSchemaError(err);
        const cls: ErrorClass = schemaError ? 'fatal' : pool.classify(err);
        if (schemaError && !schemaRetried) {
          schemaRetried = true;
          if (await this.schemaChanged(plan.schema)) {
            log.info({ schema: plan.schema.key, table: schemaError.table }, 'target schema changed; applying again');
            continue;
          }
        }
        if (cls === 'retry' && attempts <= maxRetries) {
          const delayMs = backoffDelay(
            { initialMs: this.options.retryInitialBackoffMs, maxMs: this.options.retryMaxBackoffMs, multiplier: this.options.retryMultiplier },
            attempts,
            this.options.random,
          );
          log.warn(
            { schema: plan.schema.key, table: currentTable, attempt: attempts, delayMs, code: firstCode(err), err: redactText((err as Error).message ?? String(err)) },
            'target apply failed with a transient error; retrying',
          );
          await sleep(delayMs, abort);
          continue;
        }
        throw this.toApplyError(plan, err, cls, attempts, currentTable, schemaError);
      }
    }
  }

  /** Stops further applies and cuts short any backoff wait; closes the pool only with ownsPool. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort(new ApplyError('the applier was closed', { errorClass: 'fatal', code: 'APPLY_CLOSED' }));
    if (this.options.ownsPool) await this.options.pool.close();
  }

  private async prepare(plan: ApplyPlan): Promise<{ info: SchemaInfo; prepared: readonly Prepared[] }> {
    let info = await this.requireSchema(plan.schema, false);
    let refreshed = false;
    const lookup = async (name: string): Promise<TableInfo> => {
      let t = info.tables.get(name.toLowerCase());
      if (!t && !refreshed) {
        // A table created after the last read: look once more before giving up.
        refreshed = true;
        info = await this.requireSchema(plan.schema, true);
        t = info.tables.get(name.toLowerCase());
      }
      if (!t) {
        throw new ApplyError(`table ${name} does not exist in target schema ${plan.schema.parts.join('.')}`, {
          errorClass: 'fatal',
          code: 'APPLY_UNKNOWN_TABLE',
          table: name,
          actions: [`Create ${name} in the target schema (the changefeed sends it), or leave it out of the changefeed.`],
        });
      }
      return t;
    };
    const tables = new Map<string, TableInfo>();
    for (const op of plan.ops) {
      const k = op.table.toLowerCase();
      if (!tables.has(k)) tables.set(k, await lookup(op.table));
    }
    // Learn key orders from every upsert in the plan before mapping its deletes.
    for (const op of plan.ops) if (op.kind === 'upsert') this.keys.learn(info.schema, tables.get(op.table.toLowerCase())!, op.rows);
    const deleted = plan.ops.filter((op) => op.kind === 'delete' && op.rows.length > 0).map((op) => tables.get(op.table.toLowerCase())!);
    if (deleted.length > 0) await this.recallKeyOrders(info.schema, deleted);
    const prepared = plan.ops
      .filter((op: ApplyOp) => op.rows.length > 0)
      .map((op): Prepared => {
        const table = tables.get(op.table.toLowerCase())!;
        return op.kind === 'upsert'
          ? { kind: 'upsert', table, rows: op.rows.map((r) => r.after) }
          : { kind: 'delete', table, keys: op.rows.map((r) => this.keys.targetKey(info.schema, table, r)) };
      });
    // Rows of a table that references itself go parent-first (upserts) and child-first (deletes).
    return { info, prepared: orderSelfReferences(prepared) };
  }

  private async requireSchema(schema: TargetSchema, refresh: boolean): Promise<SchemaInfo> {
    let info = await this.cache.get(schema, refresh);
    if (!info && !refresh) info = await this.cache.get(schema, true);
    if (!info) {
      throw new ApplyError(`target schema ${schema.parts.join('.')} does not exist`, {
        errorClass: 'fatal',
        code: 'APPLY_UNKNOWN_SCHEMA',
        actions: ['Check the webhook path (it names the target schema) and --targetConn.'],
      });
    }
    return info;
  }

  /** Re-reads the schema; true when tables, columns or keys differ from the cached copy. */
  private async schemaChanged(schema: TargetSchema): Promise<boolean> {
    const before = await this.cache.get(schema, false).catch(() => undefined);
    const after = await this.cache.get(schema, true).catch(() => undefined);
    const shape = (i: SchemaInfo | undefined) =>
      i === undefined ? '' : JSON.stringify([...i.tables.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
    return after !== undefined && shape(before) !== shape(after);
  }

  private toApplyError(
    plan: ApplyPlan,
    err: unknown,
    cls: ErrorClass,
    attempts: number,
    table: string | undefined,
    schemaError: TargetSchemaError | undefined,
  ): ApplyError {
    const cause = scrubCause(err);
    const where = `target schema ${plan.schema.parts.join('.')}${table ? `, table ${table}` : ''}`;
    const detail = redactText(err instanceof Error ? err.message : String(err));
    const code = firstCode(err);
    if (schemaError) {
      return new ApplyError(schemaError.message, {
        errorClass: 'fatal',
        code: 'APPLY_SCHEMA_MISMATCH',
        table: schemaError.table,
        column: schemaError.column,
        cause,
        attempts,
        actions: ['Make the target table match the source (columns, primary key), then restart the apply.'],
      });
    }
    if (cls === 'defer') {
      return new ApplyError(`foreign key violation applying to ${where}: ${detail}`, {
        errorClass: 'defer',
        code: 'APPLY_DEFERRED',
        table,
        cause,
        attempts,
      });
    }
    if (cls === 'retry') {
      return new ApplyError(`applying to ${where} still failed after ${attempts} attempts${code ? ` (${code})` : ''}: ${detail}`, {
        errorClass: 'retry',
        code: 'APPLY_RETRIES_EXHAUSTED',
        table,
        cause,
        attempts,
        actions: ['Check that the target is up and not overloaded; the plan stays staged and is tried again.'],
      });
    }
    return new ApplyError(`applying to ${where} failed${code ? ` (${code})` : ''}: ${detail}`, {
      errorClass: 'fatal',
      code: 'APPLY_FAILED',
      table,
      cause,
      attempts,
    });
  }
}
