/**
 * Contracts shared by the engine's modules (sink, stage, resolve, apply, dialects). Sibling modules
 * talk only through these types; index.ts wires implementations together. Nothing here does I/O.
 */
import type { Hlc } from '../lib/hlc.js';
import type { JsonValue } from '../lib/exact-json.js';
import type { Logger } from '../lib/log.js';

export type DialectName = 'postgres' | 'mysql' | 'oracle';

/**
 * A target schema as named by the webhook path: PostgreSQL "db.schema" (two segments), MySQL "db"
 * and Oracle "SCHEMA" (one segment). `key` is the canonical lower-cased dotted form used for staging
 * rows, leases and metric labels; `parts` keep the spelling from the path.
 */
export interface TargetSchema {
  readonly parts: readonly string[];
  readonly key: string;
}

/** The schema for messages: each part double-quoted as spelled in the path, e.g. "db"."public". */
export const quoteSchema = (s: TargetSchema): string => s.parts.map((p) => `"${p}"`).join('.');

/** One row change as received from the changefeed. Raw JSON text is kept exactly as sent. */
export interface Mutation {
  /** Table name from `topic` (qualification stripped), as sent. */
  readonly table: string;
  readonly hlc: Hlc;
  /** JSON array text of the source primary-key values, in the source's key column order. */
  readonly key: string;
  /** JSON object text of the new row, or null for a delete. */
  readonly after: string | null;
  /** JSON object text of the previous row (only with the `diff` option). */
  readonly before?: string | null;
  /**
   * The bytes of `after` inside the request body, when the sink still has them: staging copies them
   * as they are instead of encoding the text again (null for a delete, absent when unknown).
   */
  readonly rawAfter?: RawText | null;
}

/** UTF-8 bytes [start, end) of a JSON text inside a larger buffer, such as a webhook request body. */
export interface RawText {
  readonly bytes: Uint8Array;
  readonly start: number;
  readonly end: number;
}

// ---------------------------------------------------------------------------------------------------
// Target catalog (from introspection)

/** Broad value class of a target column; drives value conversion in the dialects. */
export type ColumnClass =
  | 'int'
  | 'decimal'
  | 'float'
  | 'bool'
  | 'text'
  | 'json'
  | 'bytes'
  | 'uuid'
  | 'date'
  | 'time'
  | 'timestamp'
  | 'timestamptz'
  | 'interval'
  | 'array'
  | 'enum'
  | 'other';

export interface ColumnInfo {
  /** Spelling in the target catalog (used quoted in SQL). */
  readonly name: string;
  /** Type as the target names it, e.g. "numeric(12,2)", "varchar(64)", "NUMBER(10,0)". */
  readonly type: string;
  readonly class: ColumnClass;
  readonly nullable: boolean;
  /** Generated/computed columns are never written. */
  readonly generated: boolean;
  readonly hasDefault: boolean;
  /**
   * Identity column kind when the column is one. "always" (PostgreSQL GENERATED ALWAYS AS IDENTITY)
   * is written on insert with the source's value but never updated.
   */
  readonly identity?: 'always' | 'by-default';
}

export interface TableInfo {
  /** Spelling in the target catalog. */
  readonly name: string;
  /** All columns: primary-key columns first in key order, then the rest. */
  readonly columns: readonly ColumnInfo[];
  /** Primary-key column names in the target's key order. */
  readonly primaryKey: readonly string[];
  /**
   * Foreign keys of the table on itself (employees.manager_id -> employees.id); absent when it has none.
   * Rows of such a table are ordered within each batch (apply/self-fk.ts).
   */
  readonly selfReferences?: readonly SelfReference[];
}

/**
 * A delete-key order learned from upserts (apply/key-order.ts), as staging remembers it: the source key
 * column names (target spelling) in the order of the changefeed's key array.
 */
export interface RememberedKeyOrder {
  /** Target schema key. */
  readonly schema: string;
  /** Lower-cased table name. */
  readonly table: string;
  readonly columns: readonly string[];
}

/** A foreign key from a table to itself: `columns[i]` references `referenced[i]` (catalog spelling). */
export interface SelfReference {
  readonly columns: readonly string[];
  readonly referenced: readonly string[];
}

/** A foreign key edge: `child` references `parent` (table names in catalog spelling). */
export interface ForeignKeyEdge {
  readonly child: string;
  readonly parent: string;
}

export interface SchemaInfo {
  readonly schema: TargetSchema;
  /** Keyed by lower-cased table name (matching is case-insensitive, SQL uses catalog spelling). */
  readonly tables: ReadonlyMap<string, TableInfo>;
  readonly foreignKeys: readonly ForeignKeyEdge[];
}

// ---------------------------------------------------------------------------------------------------
// Apply plans (resolve/ produces them, apply/ executes them)

/** A row image to upsert: the `after` JSON text as staged. */
export interface UpsertRow {
  readonly key: string;
  readonly after: string;
  readonly hlc: Hlc;
}

/** A row to delete, identified by its source key (and the before image when the feed sent one). */
export interface DeleteRow {
  readonly key: string;
  readonly before?: string | null;
  readonly hlc: Hlc;
}

/** One step of an apply plan: all rows are for one table and of one kind. */
export type ApplyOp =
  | { readonly kind: 'upsert'; readonly table: string; readonly rows: readonly UpsertRow[] }
  | { readonly kind: 'delete'; readonly table: string; readonly rows: readonly DeleteRow[] };

/**
 * Ordered work for one target transaction: whole source transactions only, in HLC order, with upserts
 * parent-before-child and deletes child-before-parent already arranged by resolve/.
 */
export interface ApplyPlan {
  readonly schema: TargetSchema;
  /** Exclusive lower and inclusive upper HLC bound of the mutations in this plan. */
  readonly from: Hlc;
  readonly to: Hlc;
  readonly ops: readonly ApplyOp[];
}

export interface ApplyCounts {
  /** Per table (catalog spelling): rows upserted and deleted. */
  readonly upserts: ReadonlyMap<string, number>;
  readonly deletes: ReadonlyMap<string, number>;
}

/** How the engine should react to a target error. */
export type ErrorClass = 'retry' | 'defer' | 'fatal';

// ---------------------------------------------------------------------------------------------------
// Dialects (the only place with target SQL and target drivers)

export interface TargetPoolOptions {
  readonly maxPoolSize: number;
  readonly log: Logger;
  /** Shown to the target as application name where the dialect supports one. */
  readonly applicationName?: string;
  /**
   * Most rows per write statement (the engine's --flushSize); the dialect's bind limits may lower it.
   * Default 1000.
   */
  readonly maxRowsPerStatement?: number;
}

export interface Dialect {
  readonly name: DialectName;
  /** Number of webhook path segments that name a target schema (2 for PostgreSQL, 1 otherwise). */
  readonly schemaPathSegments: 1 | 2;
  /** Builds the TargetSchema for path segments (already percent-decoded); throws on a wrong count. */
  schemaFromPath(segments: readonly string[]): TargetSchema;
  /** Default target schema for a connection string (PostgreSQL "db.public", MySQL "db", Oracle USER). */
  defaultSchema(conn: string): TargetSchema;
  /** Opens a pool. Must not log the connection string. */
  connect(conn: string, options: TargetPoolOptions): Promise<TargetPool>;
}

/** Statement counts and timing of one write, for metrics. */
export interface WriteResult {
  /** Rows the statements affected (normalised: an upserted row counts once, even on MySQL). */
  readonly rows: number;
  readonly statements: number;
}

/** Options of one TargetTx write. */
export interface WriteOptions {
  /** Checked between statements: an aborted signal stops the write with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** A target transaction: write helpers render dialect SQL, chunked to the dialect's bind limits. */
export interface TargetTx {
  /**
   * Upserts full row images (JSON object texts) into `table`. Column matching is case-insensitive;
   * values are converted per column type; unknown columns or a missing primary-key value raise a
   * TargetSchemaError naming table and column. Idempotent. Several images of one key are merged in
   * order (later fields win); columns absent from an image keep their value on update and take their
   * default on insert.
   */
  upsert(schema: TargetSchema, table: TableInfo, rows: readonly string[], options?: WriteOptions): Promise<WriteResult>;
  /**
   * Deletes rows by primary key. Each key is the list of values in the target's primary-key order.
   * Deleting a missing row is not an error. Idempotent.
   */
  delete(
    schema: TargetSchema,
    table: TableInfo,
    keys: readonly (readonly JsonValue[])[],
    options?: WriteOptions,
  ): Promise<WriteResult>;
  /**
   * Optional two-step form of upsert and delete, same semantics: the call does the CPU work now
   * (parsing row images, rendering statements; schema errors are thrown here) and returns the write,
   * which sends and runs the statements when called. A caller can so prepare the next write while the
   * target executes the current one. Prepared writes must run in the order they were prepared.
   */
  prepareUpsert?(schema: TargetSchema, table: TableInfo, rows: readonly string[]): PreparedWrite;
  prepareDelete?(schema: TargetSchema, table: TableInfo, keys: readonly (readonly JsonValue[])[]): PreparedWrite;
  /**
   * Optional. Reads `columns` of the rows with these primary keys (target key order) inside this
   * transaction, so its earlier writes count. result[i] holds keys[i]'s values in `columns` order as
   * canonical text (NormalisedRow rules), or undefined when no such row exists. Read-only.
   */
  readByKeys?(
    schema: TargetSchema,
    table: TableInfo,
    keys: readonly (readonly JsonValue[])[],
    columns: readonly string[],
  ): Promise<(NormalisedRow | undefined)[]>;
}

/** A write prepared by TargetTx.prepareUpsert / prepareDelete: runs its statements when called. */
export type PreparedWrite = (options?: WriteOptions) => Promise<WriteResult>;

export interface PrivilegeReport {
  /** The user whose privileges were checked. */
  readonly user: string;
  /** Per table (catalog spelling): privileges the user lacks, e.g. ["DELETE"]. Empty when complete. */
  readonly missing: ReadonlyMap<string, readonly string[]>;
  /** Tables that do not exist in the schema. */
  readonly absentTables: readonly string[];
  /** Privileges the user lacks on the schema itself (PostgreSQL: USAGE). Absent or empty when complete. */
  readonly schemaMissing?: readonly string[];
}

/**
 * A row read for verification, every value as canonical text (null for SQL NULL) so that the same data
 * compares equal whatever database it was read from:
 *  int: decimal integer; decimal: plain decimal without exponent, trailing fraction zeros and "-0"
 *  removed ("125.50" -> "125.5", "3.000" -> "3"); float: shortest round-trip JS number text; bool: "true" /
 *  "false" (MySQL TINYINT(1) included); text, enum: as stored; json: compact JSON with object keys sorted
 *  and numbers canonical as for decimal; bytes: lower-case hex; uuid: lower-case 8-4-4-4-12 (also when
 *  stored as CHAR(36) or BINARY(16)); date: YYYY-MM-DD; time: HH:MM:SS.ffffff; timestamp:
 *  YYYY-MM-DDTHH:MM:SS.ffffff (no zone); timestamptz: the UTC instant as YYYY-MM-DDTHH:MM:SS.ffffffZ;
 *  interval, array, other: the dialect's text form.
 */
export type NormalisedRow = readonly (string | null)[];

export interface TargetPool {
  readonly dialect: Dialect;
  ping(): Promise<void>;
  /** Server version string, e.g. "PostgreSQL 15.20 ..." or "10.11.19-MariaDB". */
  version(): Promise<string>;
  /** The user this pool authenticates as. */
  currentUser(): Promise<string>;
  /**
   * Reads tables, columns, primary keys and foreign keys; undefined when the schema does not exist.
   * The returned `schema` keeps `key` but spells `parts` as the catalog does (pass it to TargetTx).
   */
  introspect(schema: TargetSchema): Promise<SchemaInfo | undefined>;
  /** Runs fn in one target transaction and commits when it resolves; rolls back when it throws. */
  transaction<T>(fn: (tx: TargetTx) => Promise<T>): Promise<T>;
  /** Classifies an error thrown by this pool: retry (serialization, deadlock, lost connection), defer (FK), fatal. */
  classify(err: unknown): ErrorClass;
  /** Privileges the failback needs on each table: SELECT, INSERT, UPDATE, DELETE. */
  checkPrivileges(schema: TargetSchema, user: string, tables: readonly string[]): Promise<PrivilegeReport>;
  /** The GRANT statements that give `user` what `report` says is missing (for a DBA or an admin pool). */
  grantStatements(schema: TargetSchema, report: PrivilegeReport): string[];
  /** Executes admin statements (the output of grantStatements) one by one. */
  execAdmin(statements: readonly string[]): Promise<void>;
  /**
   * Reads up to `limit` rows of a table ordered by primary key, strictly after `after` (a key in
   * target primary-key order) when given, with values normalised for comparison (see verify).
   * Returns rows as arrays in `table.columns` order.
   */
  readRows(
    schema: TargetSchema,
    table: TableInfo,
    options: { after?: readonly JsonValue[]; limit: number },
  ): Promise<NormalisedRow[]>;
  close(): Promise<void>;
}

/** A target schema or payload mismatch: names the table and column, never retried. */
export class TargetSchemaError extends Error {
  constructor(
    message: string,
    readonly table: string,
    readonly column?: string,
  ) {
    super(message);
    this.name = 'TargetSchemaError';
  }
}
