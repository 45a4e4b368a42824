/**
 * What the sequencer needs from the rest of the engine, as narrow interfaces: staging (read windows,
 * mark them applied, leases), the applier, and a clock. index.ts passes the real stage/ and apply/
 * objects (they fit structurally); unit tests pass fakes. No SQL and no driver types here.
 */
import type { Hlc } from '../../lib/hlc.js';
import type { ApplyCounts, ApplyPlan, SchemaInfo, TargetSchema } from '../types.js';

/** One staged mutation as read back from staging, raw JSON text kept. */
export interface StagedRow {
  readonly hlc: Hlc;
  /** Table name as sent in the changefeed topic (qualification stripped). */
  readonly table: string;
  /** JSON array text of the source key. */
  readonly key: string;
  /** JSON object text of the row, or null for a delete. */
  readonly after: string | null;
  readonly before: string | null;
}

/** Progress of one target schema as recorded in staging. */
export interface SchemaProgress {
  readonly schema: TargetSchema;
  /** Applied checkpoint: the target equals the source as of this HLC (ZERO when nothing was applied). */
  readonly applied: Hlc;
  /** Newest resolved timestamp received (ZERO when none). */
  readonly resolved: Hlc;
}

export interface WindowStore {
  /** Every target schema known to staging with its progress. Read-only. */
  progress(): Promise<SchemaProgress[]>;
  /**
   * Staged rows with applied < HLC <= upTo, ordered by (HLC, table, key), at most `limit`. Read-only.
   */
  readRange(schemaKey: string, applied: Hlc, upTo: Hlc, limit: number): Promise<StagedRow[]>;
  /** Every staged row at exactly this HLC (one or more source transactions), ordered. Read-only. */
  readHlc(schemaKey: string, hlc: Hlc): Promise<StagedRow[]>;
  /**
   * Advances the applied checkpoint to `to` (never backwards) if `leaseHolder` still holds the schema's
   * lease; returns false when the lease was lost (nothing changed). Idempotent.
   */
  markApplied(schemaKey: string, to: Hlc, leaseHolder: string): Promise<boolean>;
  /**
   * Deletes applied staged rows; idempotent, returns rows deleted. With `from`: the rows of one applied
   * window, from < HLC <= applied (cheap). Without: every staged row at or below `applied` and the
   * resolved timestamps below it (the catch-all sweep for late re-sends; it may scan everything deleted
   * since the database last cleaned up, so it is meant to run rarely).
   */
  retire(schemaKey: string, applied: Hlc, from?: Hlc): Promise<number>;
  /** Counts staged rows above `applied`, stopping at `limit`. Read-only. */
  countPending(schemaKey: string, applied: Hlc, limit: number): Promise<number>;
}

export interface LeaseStore {
  /** Takes the lease if free or expired (or already ours); true when `holder` now holds it for ttlMs. */
  acquire(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Extends our lease; false when it is no longer ours (expired and taken, or deleted). */
  renew(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if we hold it. Idempotent. */
  release(name: string, holder: string): Promise<void>;
}

export interface ApplyResult {
  readonly counts: ApplyCounts;
  readonly attempts: number;
  readonly durationMs: number;
  readonly statements: number;
}

export interface ApplierPort {
  /** Cached target introspection; undefined when the schema does not exist on the target. */
  schema(target: TargetSchema, options?: { refresh?: boolean }): Promise<SchemaInfo | undefined>;
  /** Runs a plan in one target transaction (retrying retry-class errors inside); throws on failure. */
  apply(plan: ApplyPlan, signal?: AbortSignal): Promise<ApplyResult>;
}

/** The class an apply failure falls in: ApplyError carries it; anything else counts as fatal. */
export function errorClassOf(err: unknown): 'retry' | 'defer' | 'fatal' {
  const c = (err as { errorClass?: unknown } | null)?.errorClass;
  return c === 'retry' || c === 'defer' || c === 'fatal' ? c : 'fatal';
}
