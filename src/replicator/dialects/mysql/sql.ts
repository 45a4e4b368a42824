/**
 * MySQL / MariaDB SQL rendering: backtick quoting, `?` placeholders, upsert, delete and keyset reads.
 * Pure functions, frozen by the golden files in test/golden/mysql/.
 *
 *   INSERT INTO `db`.`employees` (`id`, `name`)
 *   VALUES (?, ?),
 *          (?, ?)
 *   ON DUPLICATE KEY UPDATE `name` = VALUES(`name`)
 *
 * MySQL 8.0.19+ gets a row alias instead (`... AS `molt_new` ON DUPLICATE KEY UPDATE `name` =
 * `molt_new`.`name``) because VALUES() is deprecated there since 8.0.20
 * (https://dev.mysql.com/doc/refman/8.0/en/insert-on-duplicate.html); MariaDB only knows VALUES().
 * A table whose image carries only key columns updates the key to itself: INSERT IGNORE would also
 * swallow foreign-key and conversion errors.
 */
import type { JsonValue } from '../../../lib/exact-json.js';
import type { ColumnInfo, TableInfo, TargetSchema } from '../../types.js';
import type { RowGroup } from '../shared/payload.js';
import type { SqlStatement, WriteLimits } from '../shared/statement.js';
import { myParam, paramSize, type MyParam } from './values.js';

/** The protocol's limit on placeholders in one prepared statement; kept for client-side formatting too. */
export const MY_MAX_PLACEHOLDERS = 65535;
/** Statement size budget, well under the 16 MiB default max_allowed_packet of MariaDB (64 MiB on MySQL 8). */
export const MY_MAX_STATEMENT_BYTES = 4 * 1024 * 1024;

export type UpsertStyle = 'values-function' | 'row-alias';

export const quoteIdent = (name: string): string => `\`${name.replace(/`/g, '``')}\``;

export function tableRef(schema: TargetSchema, table: TableInfo | string): string {
  return `${quoteIdent(schema.parts[0]!)}.${quoteIdent(typeof table === 'string' ? table : table.name)}`;
}

/** Splits rows into statements under the placeholder, row and byte limits. */
function chunkRows(rows: readonly (readonly MyParam[])[], width: number, limits: WriteLimits): MyParam[][][] {
  const maxRows = Math.max(1, Math.min(limits.maxRowsPerStatement, Math.floor(MY_MAX_PLACEHOLDERS / width)));
  const out: MyParam[][][] = [];
  let cur: MyParam[][] = [];
  let bytes = 0;
  for (const r of rows) {
    const size = r.reduce<number>((n, p) => n + paramSize(p) + 2, 4);
    if (cur.length > 0 && (cur.length >= maxRows || bytes + size > MY_MAX_STATEMENT_BYTES)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push([...r]);
    bytes += size;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

export function renderUpsert(
  schema: TargetSchema,
  table: TableInfo,
  group: RowGroup,
  limits: WriteLimits,
  style: UpsertStyle,
): SqlStatement[] {
  const cols = group.columns;
  const values = group.rows.map((r) => cols.map((c, i) => myParam(c, r[i])));
  const tuple = `(${cols.map(() => '?').join(', ')})`;
  const alias = quoteIdent('molt_new');
  const assignments =
    group.updateColumns.length === 0
      ? table.primaryKey.slice(0, 1).map((k) => `${quoteIdent(k)} = ${quoteIdent(k)}`)
      : group.updateColumns.map((c) =>
          style === 'row-alias'
            ? `${quoteIdent(c.name)} = ${alias}.${quoteIdent(c.name)}`
            : `${quoteIdent(c.name)} = VALUES(${quoteIdent(c.name)})`,
        );
  const head = `INSERT INTO ${tableRef(schema, table)} (${cols.map((c) => quoteIdent(c.name)).join(', ')})\nVALUES `;
  const tail = `${style === 'row-alias' && group.updateColumns.length > 0 ? ` AS ${alias}` : ''}\nON DUPLICATE KEY UPDATE ${assignments.join(', ')}`;
  return chunkRows(values, cols.length, limits).map((rows) => ({
    sql: head + rows.map(() => tuple).join(',\n       ') + tail,
    params: rows.flat(),
    rows: rows.length,
  }));
}

export function renderDelete(
  schema: TargetSchema,
  table: TableInfo,
  keyColumns: readonly ColumnInfo[],
  keys: readonly (readonly JsonValue[])[],
  limits: WriteLimits,
): SqlStatement[] {
  const values = keys.map((k) => keyColumns.map((c, i) => myParam(c, k[i])));
  const single = keyColumns.length === 1;
  const target = single ? quoteIdent(keyColumns[0]!.name) : `(${keyColumns.map((c) => quoteIdent(c.name)).join(', ')})`;
  const tuple = single ? '?' : `(${keyColumns.map(() => '?').join(', ')})`;
  return chunkRows(values, keyColumns.length, limits).map((rows) => ({
    sql: `DELETE FROM ${tableRef(schema, table)}\nWHERE ${target} IN (${rows.map(() => tuple).join(', ')})`,
    params: rows.flat(),
    rows: rows.length,
  }));
}

/**
 * Keyset predicate "after (k1, k2)" spelled out as (a > ?) OR (a = ? AND b > ?): range-optimisable on
 * the primary key by MySQL and MariaDB alike, where a row-constructor comparison may not be.
 */
export function keysetPredicate(
  keyColumns: readonly ColumnInfo[],
  after: readonly JsonValue[],
  key: (col: ColumnInfo) => string,
  param: (col: ColumnInfo, v: JsonValue, index: number) => string,
): string {
  const terms = keyColumns.map((_, i) =>
    keyColumns
      .slice(0, i + 1)
      .map((c, j) => `${key(c)} ${j === i ? '>' : '='} ${param(c, after[j]!, j)}`)
      .join(' AND '),
  );
  return terms.map((t) => `(${t})`).join(' OR ');
}

/**
 * The key expression readRows sorts and compares by. Verification merges both sides in binary
 * (code-point) key order, CockroachDB's STRING order, while MySQL's default collations are
 * case-insensitive: text keys compare as their UTF-8 bytes, ENUMs by their text (not their index) and
 * MariaDB's UUID type by its text (it sorts by a rearranged byte order). CHAR(36) UUIDs, binary, numeric
 * and temporal keys already sort that way and keep using the primary-key index.
 */
function sortKey(c: ColumnInfo, expr: string): string {
  if (c.class === 'uuid') return /^uuid\b/i.test(c.type) ? `CAST(CAST(${expr} AS CHAR) AS BINARY)` : expr;
  if (c.class === 'text' || c.class === 'enum' || c.class === 'json') return `CAST(${expr} AS BINARY)`;
  if (c.class === 'other' && !/^(binary|varbinary|bit|.*blob)\b/i.test(c.type)) return `CAST(${expr} AS BINARY)`;
  return expr;
}

export function renderSelectPage(
  schema: TargetSchema,
  table: TableInfo,
  keyColumns: readonly ColumnInfo[],
  after: readonly JsonValue[] | undefined,
  limit: number,
): SqlStatement {
  // Columns are aliased c0, c1, ... so the reader can find each one's class by position.
  const select = `SELECT ${table.columns.map((c, i) => `${quoteIdent(c.name)} AS c${i}`).join(', ')}\nFROM ${tableRef(schema, table)}\n`;
  const order = `ORDER BY ${keyColumns.map((c) => sortKey(c, quoteIdent(c.name))).join(', ')}\nLIMIT ${Math.max(1, Math.floor(limit))}`;
  if (!after) return { sql: select + order, params: [], rows: 0 };
  const params: MyParam[] = [];
  const where = keysetPredicate(
    keyColumns,
    after,
    (c) => sortKey(c, quoteIdent(c.name)),
    (c, v) => {
      params.push(myParam(c, v));
      return sortKey(c, '?');
    },
  );
  return { sql: `${select}WHERE ${where}\n${order}`, params, rows: 0 };
}
