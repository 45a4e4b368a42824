/**
 * Oracle catalog reads over the ALL_* views: tables, columns (ALL_TAB_COLS: hidden columns skipped,
 * virtual ones flagged generated), primary-key order, JSON columns and foreign keys inside one schema.
 * Read-only.
 */
import type { ColumnClass, ColumnInfo, SchemaInfo, TargetSchema } from '../../types.js';
import { buildSchemaInfo } from '../shared/schema-info.js';
import { makeTargetSchema } from '../shared/target.js';
import type { OracleConnectionLike } from './driver.js';

async function rows(conn: OracleConnectionLike, sql: string, binds: Record<string, unknown>): Promise<unknown[][]> {
  const r = await conn.execute(sql, binds);
  return (r.rows ?? []) as unknown[][];
}

const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const num = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));

export interface OracleColumnRow {
  dataType: string;
  dataLength?: number;
  precision?: number;
  scale?: number;
  charLength?: number;
  charUsed?: string;
}

/** The type as Oracle users write it: NUMBER(10,0), VARCHAR2(20 CHAR), RAW(16), TIMESTAMP(6). */
export function oracleTypeText(r: OracleColumnRow): string {
  const dt = r.dataType.toUpperCase();
  switch (dt) {
    case 'NUMBER':
      if (r.precision === undefined) return r.scale === 0 ? 'NUMBER(*,0)' : 'NUMBER';
      return `NUMBER(${r.precision},${r.scale ?? 0})`;
    case 'FLOAT':
      return r.precision === undefined ? 'FLOAT' : `FLOAT(${r.precision})`;
    case 'VARCHAR2':
    case 'CHAR':
      return `${dt}(${r.charLength ?? r.dataLength} ${r.charUsed === 'C' ? 'CHAR' : 'BYTE'})`;
    case 'NVARCHAR2':
    case 'NCHAR':
      return `${dt}(${r.charLength ?? r.dataLength})`;
    case 'RAW':
      return `RAW(${r.dataLength})`;
    default:
      return dt;
  }
}

export function oracleColumnClass(r: OracleColumnRow, isJson: boolean): ColumnClass {
  if (isJson) return 'json';
  const dt = r.dataType.toUpperCase();
  if (dt === 'NUMBER') {
    if (r.precision === undefined && r.scale === undefined) return 'decimal';
    return (r.scale ?? 0) <= 0 ? 'int' : 'decimal';
  }
  if (dt === 'FLOAT' || dt === 'BINARY_FLOAT' || dt === 'BINARY_DOUBLE') return 'float';
  if (['VARCHAR2', 'NVARCHAR2', 'CHAR', 'NCHAR', 'CLOB', 'NCLOB', 'LONG'].includes(dt)) return 'text';
  if (dt === 'JSON') return 'json';
  if (dt === 'RAW') return r.dataLength === 16 ? 'uuid' : 'bytes';
  if (dt === 'BLOB' || dt === 'LONG RAW') return 'bytes';
  if (dt === 'DATE') return 'date';
  if (dt === 'BOOLEAN') return 'bool';
  if (/^TIMESTAMP\(\d+\) WITH (LOCAL )?TIME ZONE$/.test(dt)) return 'timestamptz';
  if (/^TIMESTAMP(\(\d+\))?$/.test(dt)) return 'timestamp';
  if (dt.startsWith('INTERVAL')) return 'interval';
  return 'other';
}

export async function resolveOracleSchema(conn: OracleConnectionLike, schema: TargetSchema): Promise<TargetSchema | undefined> {
  if (schema.parts.length !== 1) return undefined;
  const name = schema.parts[0]!;
  const found = (await rows(conn, 'SELECT USERNAME FROM ALL_USERS WHERE UPPER(USERNAME) = UPPER(:name)', { name })).map((r) =>
    str(r[0]),
  );
  const hit = found.find((u) => u === name) ?? found.find((u) => u === name.toUpperCase()) ?? (found.length === 1 ? found[0] : undefined);
  return hit ? { ...makeTargetSchema([hit]), key: schema.key } : undefined;
}

// Recycle-bin, nested, IOT-overflow and secondary (domain index) tables are not replication targets.
const TABLES_FILTER = `SELECT TABLE_NAME FROM ALL_TABLES
  WHERE OWNER = :owner AND NESTED = 'NO' AND SECONDARY = 'N' AND DROPPED = 'NO' AND (IOT_TYPE IS NULL OR IOT_TYPE = 'IOT')`;

export const ORACLE_COLUMNS_SQL = `SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, DATA_LENGTH, DATA_PRECISION, DATA_SCALE,
  CHAR_LENGTH, CHAR_USED, NULLABLE, VIRTUAL_COLUMN, DEFAULT_LENGTH, IDENTITY_COLUMN
FROM ALL_TAB_COLS
WHERE OWNER = :owner AND HIDDEN_COLUMN = 'NO' AND TABLE_NAME IN (${TABLES_FILTER})
ORDER BY TABLE_NAME, COLUMN_ID`;

export const ORACLE_PRIMARY_KEYS_SQL = `SELECT c.TABLE_NAME, cc.COLUMN_NAME
FROM ALL_CONSTRAINTS c
JOIN ALL_CONS_COLUMNS cc ON cc.OWNER = c.OWNER AND cc.CONSTRAINT_NAME = c.CONSTRAINT_NAME AND cc.TABLE_NAME = c.TABLE_NAME
WHERE c.OWNER = :owner AND c.CONSTRAINT_TYPE = 'P'
ORDER BY c.TABLE_NAME, cc.POSITION`;

export const ORACLE_FOREIGN_KEYS_SQL = `SELECT DISTINCT c.TABLE_NAME, p.TABLE_NAME
FROM ALL_CONSTRAINTS c
JOIN ALL_CONSTRAINTS p ON p.OWNER = c.R_OWNER AND p.CONSTRAINT_NAME = c.R_CONSTRAINT_NAME
WHERE c.OWNER = :owner AND c.CONSTRAINT_TYPE = 'R' AND c.R_OWNER = :owner AND c.TABLE_NAME <> p.TABLE_NAME
ORDER BY 1, 2`;

// Columns with an IS JSON check constraint (JSON kept in VARCHAR2, CLOB or BLOB).
export const ORACLE_JSON_COLUMNS_SQL = `SELECT TABLE_NAME, COLUMN_NAME FROM ALL_JSON_COLUMNS WHERE OWNER = :owner`;

export async function introspectOracle(conn: OracleConnectionLike, schema: TargetSchema): Promise<SchemaInfo | undefined> {
  const resolved = await resolveOracleSchema(conn, schema);
  if (!resolved) return undefined;
  const owner = resolved.parts[0]!;
  const cols = await rows(conn, ORACLE_COLUMNS_SQL, { owner });
  const pks = await rows(conn, ORACLE_PRIMARY_KEYS_SQL, { owner });
  const fks = await rows(conn, ORACLE_FOREIGN_KEYS_SQL, { owner });
  const json = new Set((await rows(conn, ORACLE_JSON_COLUMNS_SQL, { owner })).map((r) => `${str(r[0])}\u0000${str(r[1])}`));

  const columnsByTable = new Map<string, ColumnInfo[]>();
  for (const r of cols) {
    const table = str(r[0]);
    const meta: OracleColumnRow = {
      dataType: str(r[2]),
      dataLength: num(r[3]),
      precision: num(r[4]),
      scale: num(r[5]),
      charLength: num(r[6]),
      charUsed: str(r[7]),
    };
    let list = columnsByTable.get(table);
    if (!list) columnsByTable.set(table, (list = []));
    list.push({
      name: str(r[1]),
      type: oracleTypeText(meta),
      class: oracleColumnClass(meta, json.has(`${table}\u0000${str(r[1])}`)),
      nullable: str(r[8]) === 'Y',
      generated: str(r[9]) === 'YES',
      hasDefault: (num(r[10]) ?? 0) > 0 || str(r[11]) === 'YES',
    });
  }
  return buildSchemaInfo(
    resolved,
    columnsByTable,
    pks.map((r) => [str(r[0]), str(r[1])] as const),
    fks.map((r) => ({ child: str(r[0]), parent: str(r[1]) })),
  );
}
