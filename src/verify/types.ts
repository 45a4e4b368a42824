/**
 * The verify service's public shapes: what a caller passes in (VerifyOptions), what it gets back
 * (VerifyReport) and the progress events in between. Everything in a report is plain JSON: the CLI
 * prints it under --json, the sandbox and the wizard read it. Row values only appear when the caller
 * asked for them (showValues), because rows may hold personal data.
 */
import type { Logger } from '../lib/log.js';
import type { TargetPool, TargetSchema } from '../replicator/types.js';

/** One side of the comparison: the service opens (and closes) a small pool on the connection string. */
export interface VerifyEndpoint {
  readonly conn: string;
  /**
   * Schema as the webhook path names it ("db.schema" for PostgreSQL, "db" for MySQL). Defaults to the
   * connection's default schema. On the CockroachDB side a table named "schema.table" overrides it.
   */
  readonly schema?: string;
}

export interface VerifyOptions {
  /** CockroachDB (read through the postgres dialect: it speaks the pg protocol). */
  readonly source: VerifyEndpoint;
  /** The failback target (PostgreSQL, MySQL/MariaDB or Oracle). */
  readonly target: VerifyEndpoint;
  /** Tables as named on CockroachDB: "table" or "schema.table". */
  readonly tables: readonly string[];
  /** Rows per chunk and per read on each side (default 1000). Memory is O(chunkSize), not O(table). */
  readonly chunkSize?: number;
  /** Differing keys listed per table (default 100); the counts are always complete. */
  readonly maxDiffs?: number;
  /** Pause between re-checks of differing key ranges (default 2000 ms). */
  readonly recheckIntervalMs?: number;
  /** How long differences may take to settle before they are reported (default 30000 ms; 0: no re-check). */
  readonly settleTimeoutMs?: number;
  /** Put the differing rows' values into the report (off by default: rows may be sensitive). */
  readonly showValues?: boolean;
  readonly onProgress?: (event: VerifyProgress) => void;
  /** Stops the comparison promptly (between reads and during re-check pauses). */
  readonly signal?: AbortSignal;
  readonly log?: Logger;
}

export type VerifyProgress =
  | { readonly kind: 'table-start'; readonly table: string }
  | {
      readonly kind: 'chunk';
      readonly table: string;
      readonly chunks: number;
      readonly sourceRows: number;
      readonly targetRows: number;
      readonly differingChunks: number;
    }
  | { readonly kind: 'recheck'; readonly table: string; readonly round: number; readonly pendingDifferences: number }
  | { readonly kind: 'table-done'; readonly table: string; readonly report: TableReport };

export type DifferenceKind = 'missing' | 'extra' | 'changed';

/** Column name -> canonical text (null for SQL NULL). */
export type RowValues = Record<string, string | null>;

export interface RowDifference {
  /** missing: on CockroachDB only; extra: on the target only; changed: on both with different values. */
  readonly kind: DifferenceKind;
  /** Primary-key column -> canonical value. */
  readonly key: RowValues;
  /** For `changed`: the columns whose values differ. */
  readonly columns?: readonly string[];
  /** Only with showValues: the compared columns of each side's row (absent side omitted). */
  readonly source?: RowValues;
  readonly target?: RowValues;
}

export interface DifferenceCounts {
  readonly missing: number;
  readonly extra: number;
  readonly changed: number;
}

export interface SchemaComparison {
  /** Primary-key columns on each side, in key order (empty when the table is absent). */
  readonly primaryKey: { readonly source: readonly string[]; readonly target: readonly string[] };
  readonly columnsOnlyInSource: readonly string[];
  readonly columnsOnlyInTarget: readonly string[];
  /**
   * Differences that make the table unverifiable or unequal (absent on the target, different primary
   * keys, key types that sort differently). Any problem makes the table's verdict "mismatch".
   */
  readonly problems: readonly string[];
  /** Informational: type differences that verify reconciles, e.g. TIMESTAMPTZ against DATETIME. */
  readonly notes: readonly string[];
}

export interface TableReport {
  /** As configured. */
  readonly table: string;
  readonly verdict: 'equal' | 'mismatch';
  readonly schema: SchemaComparison;
  /** Rows read on each side during the full pass (null where the table does not exist). */
  readonly rows: { readonly source: number | null; readonly target: number | null };
  readonly chunks: { readonly compared: number; readonly differing: number };
  /** Re-check rounds run while waiting for differences to settle. */
  readonly rechecks: number;
  readonly differences: DifferenceCounts & {
    /** Differences that remain: missing + extra + changed. */
    readonly total: number;
    /** Differences seen in the full pass that went away while re-checking (replication caught up). */
    readonly settled: number;
    /** The first maxDiffs remaining differences in key order. */
    readonly listed: readonly RowDifference[];
    readonly truncated: boolean;
  };
}

export interface VerifyReport {
  readonly verdict: 'equal' | 'mismatch';
  readonly tables: readonly TableReport[];
  readonly totals: {
    readonly tables: number;
    readonly mismatchedTables: number;
    readonly sourceRows: number;
    readonly targetRows: number;
    readonly differences: number;
  };
  readonly settings: {
    readonly chunkSize: number;
    readonly maxDiffs: number;
    readonly recheckIntervalMs: number;
    readonly settleTimeoutMs: number;
    readonly showValues: boolean;
  };
  readonly startedAt: string;
  readonly durationMs: number;
}
