/**
 * The CockroachDB-side queries of the runbook: version, cluster settings, the HLC clock, zone configs
 * (GC TTL) and the source catalog (columns and primary keys). Read-only except setClusterSetting.
 * Values are returned as CockroachDB sends them through node-postgres: DECIMAL and INT8 stay strings.
 */
import { AppError, ExitCode } from '../../lib/errors.js';
import type { SqlSession } from '../services.js';
import { quoteIdent, quoteLiteral, quoteQualified } from './sql.js';

export async function serverVersion(session: SqlSession): Promise<string> {
  const { rows } = await session.query<{ version: string }>('SELECT version() AS version');
  return String(rows[0]?.version ?? '');
}

/** CockroachDB answers version() with "CockroachDB CCL v23.2.1 (...)"; PostgreSQL with "PostgreSQL 15...". */
export const isCockroachVersion = (version: string): boolean => /\bCockroachDB\b/i.test(version);

/** Short form for messages: "CockroachDB CCL v23.2.1". */
export const shortVersion = (version: string): string => version.replace(/\s*\(.*$/s, '').trim();

export type SettingValue = { ok: true; value: unknown } | { ok: false; error: string };

/** SHOW CLUSTER SETTING <name>: the single value, or the error text (unknown or not visible setting). */
export async function readClusterSetting(session: SqlSession, name: string): Promise<SettingValue> {
  assertSettingName(name);
  try {
    const { rows } = await session.query(`SHOW CLUSTER SETTING ${name}`);
    const row = rows[0];
    if (!row) return { ok: false, error: 'no row returned' };
    return { ok: true, value: Object.values(row)[0] };
  } catch (err) {
    // An unreachable cluster is not an unreadable setting: let it fail the step as unreachable (exit 4).
    if (err instanceof AppError && err.exitCode === ExitCode.UNREACHABLE) throw err;
    return { ok: false, error: (err as Error).message };
  }
}

export type SettingLiteral = boolean | number | string;

export function setClusterSettingSql(name: string, value: SettingLiteral): string {
  assertSettingName(name);
  const v = typeof value === 'string' ? quoteLiteral(value) : String(value);
  return `SET CLUSTER SETTING ${name} = ${v}`;
}

export async function setClusterSetting(session: SqlSession, name: string, value: SettingLiteral): Promise<void> {
  await session.query(setClusterSettingSql(name, value));
}

function assertSettingName(name: string): void {
  if (!/^[a-z0-9_.]+$/.test(name)) throw new Error(`"${name}" is not a cluster setting name`);
}

/** Booleans as CockroachDB/pg may return them. */
export const truthy = (v: unknown): boolean => v === true || v === 't' || v === 'true' || v === 'on' || v === 1;

/** SELECT cluster_logical_timestamp(): the exact DECIMAL text (never a JS number: it exceeds 2^53). */
export async function clusterLogicalTimestamp(session: SqlSession): Promise<string> {
  const { rows } = await session.query<{ ts: unknown }>('SELECT cluster_logical_timestamp() AS ts');
  const ts = rows[0]?.ts;
  if (typeof ts !== 'string') throw new Error(`cluster_logical_timestamp() returned ${typeof ts}, expected DECIMAL text`);
  return ts;
}

export async function currentDatabase(session: SqlSession): Promise<string> {
  const { rows } = await session.query<{ db: string }>('SELECT current_database() AS db');
  return String(rows[0]?.db ?? '');
}

export interface ZoneGc {
  /** The object the value is inherited from, e.g. "DATABASE defaultdb" or "RANGE default". */
  target: string;
  ttlSeconds: number;
}

/** Parses `gc.ttlseconds = <n>` out of SHOW ZONE CONFIGURATION's raw_config_sql. */
export function parseGcTtl(rawConfigSql: string): number | undefined {
  const m = /gc\.ttlseconds\s*=\s*(\d+)/.exec(rawConfigSql);
  return m ? Number(m[1]) : undefined;
}

export function showZoneSql(kind: 'DATABASE' | 'TABLE', nameParts: readonly string[]): string {
  return `SHOW ZONE CONFIGURATION FROM ${kind} ${quoteQualified(nameParts)}`;
}

export async function zoneGc(session: SqlSession, kind: 'DATABASE' | 'TABLE', nameParts: readonly string[]): Promise<ZoneGc> {
  const { rows } = await session.query<{ target?: string; raw_config_sql?: string }>(showZoneSql(kind, nameParts));
  const row = rows[0];
  const ttl = parseGcTtl(String(row?.raw_config_sql ?? ''));
  if (ttl === undefined) throw new Error(`SHOW ZONE CONFIGURATION FROM ${kind} ${nameParts.join('.')} has no gc.ttlseconds`);
  return { target: String(row?.target ?? `${kind} ${nameParts.join('.')}`), ttlSeconds: ttl };
}

export const configureZoneSql = (database: string, ttlSeconds: number): string =>
  `ALTER DATABASE ${quoteIdent(database)} CONFIGURE ZONE USING gc.ttlseconds = ${Math.ceil(ttlSeconds)}`;

// ----------------------------------------------------------------------------------------------
// Source catalog

export interface SourceTable {
  /** Schema and table as the catalog spells them. */
  schema: string;
  name: string;
  /** "schema.table" (the display and state key). */
  key: string;
}

export interface SourceColumn {
  name: string;
  dataType: string;
  nullable: boolean;
  /** Computed/virtual columns are not sent by changefeeds as writable data. */
  generated: boolean;
  /** CockroachDB's implicit rowid and other hidden columns. */
  hidden: boolean;
}

export interface SourceTableInfo extends SourceTable {
  columns: SourceColumn[];
  /** Primary-key columns in CockroachDB's key order (the order of the changefeed's `key` array). */
  primaryKey: string[];
}

/** Splits a configured table name: "t", "schema.t" or "db.schema.t" (the database is ignored: it is the connection's). */
export function splitTableName(name: string): { schema?: string; table: string } {
  const parts = name.split('.');
  const table = parts[parts.length - 1] as string;
  const schema = parts.length >= 2 ? parts[parts.length - 2] : undefined;
  return { schema, table };
}

/**
 * Finds each configured table in CockroachDB's catalog, case-insensitively (CockroachDB folds unquoted
 * names to lower case); returns the catalog spelling, or undefined for a table that does not exist.
 */
export async function findSourceTable(session: SqlSession, configured: string): Promise<SourceTable | undefined> {
  const { schema, table } = splitTableName(configured);
  const { rows } = await session.query<{ table_schema: string; table_name: string }>(
    `SELECT table_schema, table_name FROM information_schema.tables
      WHERE lower(table_name) = lower($1) AND lower(table_schema) = lower($2) AND table_type = 'BASE TABLE'
      ORDER BY (table_name = $1) DESC LIMIT 1`,
    [table, schema ?? 'public'],
  );
  const r = rows[0];
  return r ? { schema: r.table_schema, name: r.table_name, key: `${r.table_schema}.${r.table_name}` } : undefined;
}

export async function describeSourceTable(session: SqlSession, t: SourceTable): Promise<SourceTableInfo> {
  // SELECT * keeps this working whether or not the server has CockroachDB's is_hidden column.
  const cols = await session.query<Record<string, unknown>>(
    `SELECT * FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
    [t.schema, t.name],
  );
  const pk = await session.query<{ column_name: string }>(
    `SELECT kcu.column_name
       FROM information_schema.table_constraints tc
       JOIN information_schema.key_column_usage kcu
         ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema AND kcu.table_name = tc.table_name
      WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = $1 AND tc.table_name = $2
      ORDER BY kcu.ordinal_position`,
    [t.schema, t.name],
  );
  return {
    ...t,
    columns: cols.rows.map((c) => ({
      name: String(c.column_name),
      dataType: String(c.crdb_sql_type ?? c.data_type ?? ''),
      nullable: String(c.is_nullable).toUpperCase() === 'YES',
      generated: String(c.is_generated ?? 'NEVER').toUpperCase() !== 'NEVER' && String(c.is_generated).toUpperCase() !== 'NO',
      hidden: String(c.is_hidden ?? 'NO').toUpperCase() === 'YES',
    })),
    primaryKey: pk.rows.map((r) => r.column_name),
  };
}
