/**
 * Oracle SQL rendering: double-quoted catalog spelling (usually upper case), positional `:n` binds sent
 * as arrays with executeMany (one round trip per batch, no 1000-element IN lists), MERGE upserts,
 * deletes by primary key and keyset reads. Pure functions, frozen by test/golden/oracle/.
 *
 *   MERGE INTO "SCH"."EMPLOYEES" t
 *   USING (SELECT TO_NUMBER(:1) AS "ID", :2 AS "NAME" FROM DUAL) s
 *   ON (t."ID" = s."ID")
 *   WHEN MATCHED THEN UPDATE SET t."NAME" = s."NAME"
 *   WHEN NOT MATCHED THEN INSERT ("ID", "NAME") VALUES (s."ID", s."NAME")
 *
 * A row image with only key columns gets no WHEN MATCHED clause.
 */
import type { JsonValue } from '../../../lib/exact-json.js';
import type { ColumnInfo, TableInfo, TargetSchema } from '../../types.js';
import { chunk, type RowGroup } from '../shared/payload.js';
import type { WriteLimits } from '../shared/statement.js';
import { bindDefFor, bindExpression, oracleBind, type OracleBindDef, type OracleBindValue } from './values.js';

/** One executeMany call: the same statement for each row of binds. */
export interface OracleBatch {
  readonly sql: string;
  readonly binds: OracleBindValue[][];
  readonly bindDefs: readonly OracleBindDef[];
  readonly rows: number;
}

/** One execute call with named binds (reads). */
export interface OracleQuery {
  readonly sql: string;
  readonly binds: Record<string, OracleBindValue>;
  /** Select-list aliases whose values must be fetched as text (CLOB/NCLOB) or bytes (BLOB). */
  readonly fetchAs: Readonly<Record<string, 'string' | 'buffer'>>;
}

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export function tableRef(schema: TargetSchema, table: TableInfo | string): string {
  return `${quoteIdent(schema.parts[0]!)}.${quoteIdent(typeof table === 'string' ? table : table.name)}`;
}

function batches(columns: readonly ColumnInfo[], rows: readonly (readonly JsonValue[])[], limits: WriteLimits) {
  return chunk(rows, limits.maxRowsPerStatement).map((part) => {
    const binds = part.map((r) => columns.map((c, i) => oracleBind(c, r[i])));
    const bindDefs = columns.map((c, i) => bindDefFor(c, binds.map((b) => b[i]!)));
    return { binds, bindDefs, rows: part.length };
  });
}

export function renderMerge(schema: TargetSchema, table: TableInfo, group: RowGroup, limits: WriteLimits): OracleBatch[] {
  const cols = group.columns;
  const q = (c: ColumnInfo) => quoteIdent(c.name);
  const source = cols.map((c, i) => `${bindExpression(c, `:${i + 1}`)} AS ${q(c)}`).join(', ');
  const on = table.primaryKey.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ');
  const lines = [`MERGE INTO ${tableRef(schema, table)} t`, `USING (SELECT ${source} FROM DUAL) s`, `ON (${on})`];
  if (group.updateColumns.length > 0) {
    lines.push(`WHEN MATCHED THEN UPDATE SET ${group.updateColumns.map((c) => `t.${q(c)} = s.${q(c)}`).join(', ')}`);
  }
  lines.push(`WHEN NOT MATCHED THEN INSERT (${cols.map(q).join(', ')}) VALUES (${cols.map((c) => `s.${q(c)}`).join(', ')})`);
  const sql = lines.join('\n');
  return batches(cols, group.rows, limits).map((b) => ({ sql, ...b }));
}

export function renderDelete(
  schema: TargetSchema,
  table: TableInfo,
  keyColumns: readonly ColumnInfo[],
  keys: readonly (readonly JsonValue[])[],
  limits: WriteLimits,
): OracleBatch[] {
  const where = keyColumns.map((c, i) => `${quoteIdent(c.name)} = ${bindExpression(c, `:${i + 1}`)}`).join(' AND ');
  const sql = `DELETE FROM ${tableRef(schema, table)}\nWHERE ${where}`;
  return batches(keyColumns, keys, limits).map((b) => ({ sql, ...b }));
}

/** Select-list expression giving a canonical-friendly value for each column class. */
export function readExpression(col: ColumnInfo): string {
  const c = quoteIdent(col.name);
  switch (col.class) {
    case 'int':
    case 'decimal':
      return `TO_CHAR(${c}, 'TM9')`;
    case 'float':
      // BINARY_FLOAT/DOUBLE come back as JS numbers, exactly; NUMBER-based FLOAT as text.
      return /^binary_/i.test(col.type) ? c : `TO_CHAR(${c}, 'TM9')`;
    case 'date':
      return `TO_CHAR(${c}, 'YYYY-MM-DD')`;
    case 'timestamp':
      return `TO_CHAR(${c}, 'YYYY-MM-DD"T"HH24:MI:SS.FF6')`;
    case 'timestamptz':
      return `TO_CHAR(SYS_EXTRACT_UTC(${c}), 'YYYY-MM-DD"T"HH24:MI:SS.FF6')`;
    case 'json':
      return /^json\b/i.test(col.type) ? `JSON_SERIALIZE(${c} RETURNING CLOB)` : c;
    case 'interval':
      return `TO_CHAR(${c})`;
    default:
      return c;
  }
}

/**
 * One page of a keyset scan in primary-key order. Oracle has no row-value comparison, so "after
 * (k1, k2)" is spelled out: ("K1" > :k0) OR ("K1" = :k0 AND "K2" > :k1).
 */
export function renderSelectPage(
  schema: TargetSchema,
  table: TableInfo,
  keyColumns: readonly ColumnInfo[],
  after: readonly JsonValue[] | undefined,
  limit: number,
): OracleQuery {
  const fetchAs: Record<string, 'string' | 'buffer'> = {};
  const select = table.columns
    .map((c, i) => {
      const alias = `c${i}`;
      if (/^n?clob\b/i.test(c.type) || (c.class === 'json' && /^json\b/i.test(c.type))) fetchAs[alias] = 'string';
      else if (/^blob\b/i.test(c.type)) fetchAs[alias] = 'buffer';
      return `${readExpression(c)} AS ${quoteIdent(alias)}`;
    })
    .join(', ');
  const binds: Record<string, OracleBindValue> = {};
  let where = '';
  if (after) {
    keyColumns.forEach((c, i) => (binds[`k${i}`] = oracleBind(c, after[i])));
    const terms = keyColumns.map((_, i) =>
      keyColumns
        .slice(0, i + 1)
        .map((c, j) => `${quoteIdent(c.name)} ${j === i ? '>' : '='} ${bindExpression(c, `:k${j}`)}`)
        .join(' AND '),
    );
    where = `WHERE ${terms.map((t) => `(${t})`).join(' OR ')}\n`;
  }
  const sql =
    `SELECT ${select}\nFROM ${tableRef(schema, table)}\n${where}` +
    `ORDER BY ${keyColumns.map((c) => quoteIdent(c.name)).join(', ')}\n` +
    `FETCH FIRST ${Math.max(1, Math.floor(limit))} ROWS ONLY`;
  return { sql, binds, fetchAs };
}
