/**
 * What the bench needs from a target database, independent of the engine: create and drop a bench
 * database with the bench tables, write the baseline with plain multi-row statements, read rows back
 * for verification, and observe the marker row to time commits. Target SQL lives only in the files
 * next to this one (the engine's dialect code is what is being measured, so the bench does not use it).
 */

export interface TargetRow {
  readonly id: string;
  readonly parentId: string | null;
  readonly version: number;
  readonly amount: string;
  readonly flag: boolean;
  /** updated_at as microseconds since the epoch, in decimal text. */
  readonly updatedAtMicros: string;
  readonly payload: string;
}

/** A row as the baseline writes it: the wire values, already typed. */
export interface WriteRow {
  readonly id: string;
  readonly parentId: string | undefined;
  readonly version: number;
  readonly amount: string;
  readonly flag: boolean;
  readonly updatedAtMicros: number;
  readonly updatedAt: string;
  readonly payload: string;
}

/** One connection writing in explicit transactions: the "minimal loop" of the baseline. */
export interface BaselineWriter {
  begin(): Promise<void>;
  upsert(table: number, rows: readonly WriteRow[]): Promise<void>;
  delete(table: number, ids: readonly string[]): Promise<void>;
  commit(): Promise<void>;
  close(): Promise<void>;
}

export interface MarkerObserver {
  /** How commits are observed, for the report: e.g. "LISTEN/NOTIFY" or "polling every 5 ms". */
  readonly method: string;
  close(): Promise<void>;
}

export interface TargetDb {
  readonly name: string;
  /** Connection string handed to the engine as --targetConn (no password here). */
  readonly url: string;
  /** Webhook path of this target schema (PostgreSQL /db/schema, MySQL /db). */
  readonly webhookPath: string;
  openWriter(): Promise<BaselineWriter>;
  /** Up to `limit` rows with id greater than `afterId` (decimal text), in id order. */
  readPage(table: number, afterId: string, limit: number): Promise<TargetRow[]>;
  count(table: number): Promise<number>;
  /** Current marker version (0 when the marker row does not exist yet). */
  readMarker(): Promise<number>;
  /** Calls `onVersion` with each newly committed marker version and the time (performance.now()) seen. */
  observeMarker(onVersion: (version: number, atMs: number) => void, pollMs: number): Promise<MarkerObserver>;
  drop(): Promise<void>;
}

export interface BenchTarget {
  readonly kind: 'postgres' | 'mariadb';
  version(): Promise<string>;
  createDatabase(name: string, tables: number): Promise<TargetDb>;
  /** Names of bench databases left behind by a killed run. */
  listStale(prefix: string): Promise<string[]>;
  dropDatabase(name: string): Promise<void>;
}
