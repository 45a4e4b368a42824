/**
 * MySQL / MariaDB SQL rendering: backtick quoting, `?` placeholders, upsert, delete, reads by key and
 * keyset reads. Pure functions, frozen by the golden files in test/golden/mysql/.
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
import { myParam, paramSize, SqlLiteral, type MyParam } from './values.js';

/** The protocol's limit on placeholders in one prepared statement; kept for client-side formatting too. */
export const MY_MAX_PLACEHOLDERS = 65535;
/** Statement size budget, well under the 16 MiB default max_allowed_packet of MariaDB (64 MiB on MySQL 8). */
export const MY_MAX_STATEMENT_BYTES = 4 * 1024 * 1024;
/**
 * Soft size target for the statement text once inlined (typical, not worst-case, literal sizes): V8
 * puts a string over 128 KiB in large-object space, where each one costs a fresh mapping (measured
 * 4 ms per MiB here, against a memcpy otherwise), and the text protocol needs the statement as one
 * string. Two statements under the threshold are cheaper than one above it.
 */
export const MY_SOFT_STATEMENT_CHARS = 112 * 1024;

export type UpsertStyle = 'values-function' | 'row-alias';

export const quoteIdent = (name: string): string => `\`${name.replace(/`/g, '``')}\``;

export function tableRef(schema: TargetSchema, table: TableInfo | string): string {
  return `${quoteIdent(schema.parts[0]!)}.${quoteIdent(typeof table === 'string' ? table : table.name)}`;
}

/** Splits rows into statements under the placeholder, row and byte limits. */
function chunkRows(rows: readonly MyParam[][], width: number, limits: WriteLimits): MyParam[][][] {
  const maxRows = Math.max(1, Math.min(limits.maxRowsPerStatement, Math.floor(MY_MAX_PLACEHOLDERS / width)));
  const out: MyParam[][][] = [];
  let cur: MyParam[][] = [];
  let bytes = 0;
  let chars = 0;
  for (const r of rows) {
    let size = 4;
    let typical = 4;
    for (let i = 0; i < r.length; i++) {
      const p = r[i] as MyParam;
      size += paramSize(p) + 2;
      typical += (typeof p === 'string' ? p.length + 2 : p instanceof SqlLiteral ? p.text.length : 6) + 2;
    }
    if (cur.length > 0 && (cur.length >= maxRows || bytes + size > MY_MAX_STATEMENT_BYTES || chars + typical > MY_SOFT_STATEMENT_CHARS)) {
      out.push(cur);
      cur = [];
      bytes = 0;
      chars = 0;
    }
    cur.push(r);
    bytes += size;
    chars += typical;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/**
 * A multi-row statement: `head`, one `tuple` of placeholders per row joined by `separator`, `tail`.
 * `sql` and `params` give the placeholder form (golden files, and any caller that binds); inline()
 * writes the final text with the literals in place directly, the same text inlineParams(sql, params)
 * gives, without building the placeholder text and scanning it again.
 */
export class MyStatement implements SqlStatement {
  constructor(
    private readonly head: string,
    private readonly tuple: string,
    private readonly separator: string,
    private readonly tail: string,
    private readonly values: readonly (readonly MyParam[])[],
    /** Each row is parenthesised (a multi-column tuple). */
    private readonly parenthesised: boolean,
  ) {}

  get rows(): number {
    return this.values.length;
  }

  get sql(): string {
    return this.head + this.values.map(() => this.tuple).join(this.separator) + this.tail;
  }

  get params(): MyParam[] {
    const out: MyParam[] = [];
    for (const r of this.values) for (const p of r) out.push(p);
    return out;
  }

  inline(): string {
    const parts: string[] = [this.head];
    const open = this.parenthesised ? '(' : '';
    const close = this.parenthesised ? ')' : '';
    for (let i = 0; i < this.values.length; i++) {
      const r = this.values[i] as readonly MyParam[];
      let t = open;
      for (let j = 0; j < r.length; j++) t += (j > 0 ? ', ' : '') + myLiteral(r[j]);
      parts.push(i > 0 ? this.separator + t + close : t + close);
    }
    parts.push(this.tail);
    return parts.join('');
  }
}

export function renderUpsert(
  schema: TargetSchema,
  table: TableInfo,
  group: RowGroup,
  limits: WriteLimits,
  style: UpsertStyle,
): MyStatement[] {
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
  return chunkRows(values, cols.length, limits).map((rows) => new MyStatement(head, tuple, ',\n       ', tail, rows, true));
}

export function renderDelete(
  schema: TargetSchema,
  table: TableInfo,
  keyColumns: readonly ColumnInfo[],
  keys: readonly (readonly JsonValue[])[],
  limits: WriteLimits,
): MyStatement[] {
  return whereKeyIn(`DELETE FROM ${tableRef(schema, table)}\n`, keyColumns, keys, limits);
}

/**
 * Reads `columns` of the rows with these keys (TargetTx.readByKeys), key columns first so that each
 * row can be matched with its key; aliased c0, c1, ... so the reader finds each one's class by position:
 *   SELECT `id` AS c0, `manager_id` AS c1 FROM `db`.`employees` WHERE `id` IN (?, ?)
 */
export function renderSelectByKeys(
  schema: TargetSchema,
  table: TableInfo,
  keyColumns: readonly ColumnInfo[],
  keys: readonly (readonly JsonValue[])[],
  columns: readonly ColumnInfo[],
  limits: WriteLimits,
): MyStatement[] {
  const select = [...keyColumns, ...columns].map((c, i) => `${quoteIdent(c.name)} AS c${i}`).join(', ');
  return whereKeyIn(`SELECT ${select}\nFROM ${tableRef(schema, table)}\n`, keyColumns, keys, limits);
}

/** `statement` followed by "WHERE the primary key is one of `keys`", chunked: the delete's predicate, shared by reads by key. */
function whereKeyIn(statement: string, keyColumns: readonly ColumnInfo[], keys: readonly (readonly JsonValue[])[], limits: WriteLimits): MyStatement[] {
  const values = keys.map((k) => keyColumns.map((c, i) => myParam(c, k[i])));
  const single = keyColumns.length === 1;
  const target = single ? quoteIdent(keyColumns[0]!.name) : `(${keyColumns.map((c) => quoteIdent(c.name)).join(', ')})`;
  const tuple = single ? '?' : `(${keyColumns.map(() => '?').join(', ')})`;
  const head = `${statement}WHERE ${target} IN (`;
  return chunkRows(values, keyColumns.length, limits).map((rows) => new MyStatement(head, tuple, ', ', ')', rows, !single));
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

// eslint-disable-next-line no-control-regex -- these control characters are exactly what must be escaped
const SPECIAL = /[\0\b\t\n\r\x1a"'\\]/;
const ESCAPES: Readonly<Record<string, string>> = { '\0': '\\0', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\x1a': '\\Z', '"': '\\"', "'": "\\'", '\\': '\\\\' };
// eslint-disable-next-line no-control-regex -- as above
const SPECIAL_ALL = /[\0\b\t\n\r\x1a"'\\]/g;

/**
 * A parameter as the SQL literal mysql2 would inline for it (its client-side formatting, as the
 * statements were sent before): NULL, numbers as written, SqlLiteral text verbatim, buffers as
 * X'<hex>', strings quoted with backslash escapes (the session never has NO_BACKSLASH_ESCAPES, see
 * driver.ts).
 */
export function myLiteral(p: MyParam | undefined): string {
  if (p === null || p === undefined) return 'NULL';
  if (typeof p === 'string') return SPECIAL.test(p) ? `'${p.replace(SPECIAL_ALL, (c) => ESCAPES[c] as string)}'` : `'${p}'`;
  if (typeof p === 'number') return String(p);
  if (p instanceof SqlLiteral) return p.text;
  return `X'${p.toString('hex')}'`;
}

/**
 * The statement with its `?` placeholders replaced by literals (myLiteral), for the text protocol.
 * The renderers here put placeholders only outside backquoted identifiers (which may contain `?`), and
 * never write string literals or comments, so skipping backquoted spans is all the parsing needed.
 * Doing this here instead of through mysql2's format() (which also has to look for quotes, comments and
 * `??`) cut its cost in the apply path by more than half.
 */
export function inlineParams(sql: string, params: readonly unknown[]): string {
  const parts: string[] = [];
  let from = 0;
  let at = 0;
  let next = 0;
  let tick = sql.indexOf('`');
  for (;;) {
    const q = sql.indexOf('?', at);
    if (q < 0) break;
    if (tick >= 0 && tick < q) {
      // Skip the identifier: its closing backquote is the next one not doubled.
      let end = tick + 1;
      for (;;) {
        end = sql.indexOf('`', end);
        if (end < 0) throw new Error('unterminated quoted identifier in a rendered statement');
        if (sql.charCodeAt(end + 1) !== 0x60) break;
        end += 2;
      }
      at = end + 1;
      tick = sql.indexOf('`', at);
      continue;
    }
    if (next >= params.length) throw new Error(`a rendered statement has more placeholders than its ${params.length} parameters`);
    parts.push(sql.slice(from, q), myLiteral(params[next++] as MyParam));
    from = at = q + 1;
  }
  if (next !== params.length) throw new Error(`a rendered statement has ${next} placeholders for ${params.length} parameters`);
  if (parts.length === 0) return sql;
  parts.push(sql.slice(from));
  return parts.join('');
}
