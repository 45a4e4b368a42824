/**
 * PostgreSQL SQL rendering: quoting, casts, upsert, delete, reads by key and keyset reads. Pure
 * functions of the catalog and the rows, frozen by the golden files in test/golden/postgres/.
 *
 * Upsert, preferred shape (one statement per chunk whatever its row count, so it is prepared once per
 * connection; arrays are passed as one parameter per column):
 *
 *   INSERT INTO "public"."employees" ("id", "name")
 *   OVERRIDING SYSTEM VALUE
 *   SELECT * FROM unnest($1::bigint[], $2::text[])
 *   ON CONFLICT ("id") DO UPDATE SET "name" = EXCLUDED."name"
 *
 * A table with an array column cannot use unnest (it would flatten the arrays), so it gets a multi-row
 * VALUES list instead, chunked below PostgreSQL's 65535 bind parameters per statement.
 * OVERRIDING SYSTEM VALUE lets the source's values into GENERATED ALWAYS identity columns and is a
 * no-op elsewhere (https://www.postgresql.org/docs/current/sql-insert.html).
 */
import { createHash } from 'node:crypto';
import type { JsonValue } from '../../../lib/exact-json.js';
import type { ColumnInfo, TableInfo, TargetSchema } from '../../types.js';
import { chunk, type RowGroup } from '../shared/payload.js';
import type { SqlStatement, WriteLimits } from '../shared/statement.js';
import { OID } from '../../pg-arrays.js';
import { pgParam } from './values.js';

/** PostgreSQL's limit on bind parameters in one statement (a 16-bit count in the protocol). */
export const PG_MAX_PARAMS = 65535;

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** `"schema"."table"`: the database part of the target schema is the connection's own database. */
export function tableRef(schema: TargetSchema, table: TableInfo | string): string {
  const sch = schema.parts[schema.parts.length - 1]!;
  return `${quoteIdent(sch)}.${quoteIdent(typeof table === 'string' ? table : table.name)}`;
}

/**
 * The type to cast a text parameter to: the column's type without length/precision modifiers, so that
 * PostgreSQL checks them on assignment (an explicit cast to varchar(3) would silently truncate).
 * character(n) becomes bpchar (plain "character" means character(1)), bit(n) becomes bit varying.
 */
export function castType(type: string): string {
  let t = type.replace(/\(\s*\d+\s*(?:,\s*-?\d+\s*)?\)/g, '');
  t = t.replace(/^character(?! varying)/, 'bpchar').replace(/^bit(?! varying)/, 'bit varying');
  return t;
}

const arrayOf = (type: string) => `${castType(type)}[]`;

/** Element OIDs of the cast types whose arrays can go in binary form (pg-arrays.ts binaryArrayOf). */
const BINARY_ELEMENT: Readonly<Record<string, number>> = {
  bigint: OID.int8,
  integer: OID.int4,
  smallint: OID.int2,
  boolean: OID.bool,
  text: OID.text,
  'character varying': OID.varchar,
  bpchar: OID.bpchar,
};

/** The element OID for an array parameter of column `c`, when it may be sent in binary. */
export const binaryElementOid = (c: ColumnInfo): number | undefined => BINARY_ELEMENT[castType(c.type)];

/** Whether every column can be passed as one array parameter and unnested. */
export const canUnnest = (columns: readonly ColumnInfo[]): boolean => columns.every((c) => c.class !== 'array');

const statementName = (sql: string) => `molt_${createHash('sha1').update(sql).digest('hex').slice(0, 24)}`;

function conflictClause(table: TableInfo, update: readonly ColumnInfo[]): string {
  const target = `ON CONFLICT (${table.primaryKey.map(quoteIdent).join(', ')})`;
  if (update.length === 0) return `${target} DO NOTHING`;
  return `${target} DO UPDATE SET ${update.map((c) => `${quoteIdent(c.name)} = EXCLUDED.${quoteIdent(c.name)}`).join(', ')}`;
}

export function renderUpsert(schema: TargetSchema, table: TableInfo, group: RowGroup, limits: WriteLimits): SqlStatement[] {
  const cols = group.columns;
  const head = `INSERT INTO ${tableRef(schema, table)} (${cols.map((c) => quoteIdent(c.name)).join(', ')})\nOVERRIDING SYSTEM VALUE\n`;
  const tail = conflictClause(table, group.updateColumns);
  if (canUnnest(cols)) {
    const sql = `${head}SELECT * FROM unnest(${cols.map((c, i) => `$${i + 1}::${arrayOf(c.type)}`).join(', ')})\n${tail}`;
    const name = statementName(sql);
    const arrayElementOids = cols.map(binaryElementOid);
    return chunk(group.rows, limits.maxRowsPerStatement).map((rows) => ({
      sql,
      name,
      rows: rows.length,
      params: cols.map((c, i) => rows.map((r) => pgParam(c, r[i]))),
      arrayElementOids,
    }));
  }
  const perStatement = Math.min(limits.maxRowsPerStatement, Math.floor(PG_MAX_PARAMS / cols.length));
  return chunk(group.rows, perStatement).map((rows) => {
    const params: (string | null)[] = [];
    const tuples = rows.map((r) => {
      const slots = cols.map((c, i) => {
        params.push(pgParam(c, r[i]));
        return `$${params.length}::${castType(c.type)}`;
      });
      return `(${slots.join(', ')})`;
    });
    return { sql: `${head}VALUES ${tuples.join(',\n       ')}\n${tail}`, params, rows: rows.length };
  });
}

export function renderDelete(
  schema: TargetSchema,
  table: TableInfo,
  keyColumns: readonly ColumnInfo[],
  keys: readonly (readonly JsonValue[])[],
  limits: WriteLimits,
): SqlStatement[] {
  return whereKeyIn(`DELETE FROM ${tableRef(schema, table)}\n`, keyColumns, keys, limits);
}

/**
 * Reads `columns` of the rows with these keys (TargetTx.readByKeys), key columns first so that each
 * row can be matched with its key:
 *   SELECT "id", "manager_id" FROM "public"."employees" WHERE "id" = ANY($1::bigint[])
 */
export function renderSelectByKeys(
  schema: TargetSchema,
  table: TableInfo,
  keyColumns: readonly ColumnInfo[],
  keys: readonly (readonly JsonValue[])[],
  columns: readonly ColumnInfo[],
  limits: WriteLimits,
): SqlStatement[] {
  const select = [...keyColumns, ...columns].map((c) => quoteIdent(c.name)).join(', ');
  return whereKeyIn(`SELECT ${select}\nFROM ${tableRef(schema, table)}\n`, keyColumns, keys, limits);
}

/** `statement` followed by "WHERE the primary key is one of `keys`", chunked: the delete's predicate, shared by reads by key. */
function whereKeyIn(statement: string, keyColumns: readonly ColumnInfo[], keys: readonly (readonly JsonValue[])[], limits: WriteLimits): SqlStatement[] {
  const head = `${statement}WHERE `;
  if (canUnnest(keyColumns)) {
    const predicate =
      keyColumns.length === 1
        ? `${quoteIdent(keyColumns[0]!.name)} = ANY($1::${arrayOf(keyColumns[0]!.type)})`
        : `(${keyColumns.map((c) => quoteIdent(c.name)).join(', ')}) IN (SELECT * FROM unnest(${keyColumns
            .map((c, i) => `$${i + 1}::${arrayOf(c.type)}`)
            .join(', ')}))`;
    const sql = head + predicate;
    const name = statementName(sql);
    const arrayElementOids = keyColumns.map(binaryElementOid);
    return chunk(keys, limits.maxRowsPerStatement).map((rows) => ({
      sql,
      name,
      rows: rows.length,
      params: keyColumns.map((c, i) => rows.map((r) => pgParam(c, r[i]))),
      arrayElementOids,
    }));
  }
  const perStatement = Math.min(limits.maxRowsPerStatement, Math.floor(PG_MAX_PARAMS / keyColumns.length));
  return chunk(keys, perStatement).map((rows) => {
    const params: (string | null)[] = [];
    const tuples = rows.map(
      (r) =>
        `(${keyColumns
          .map((c, i) => {
            params.push(pgParam(c, r[i]));
            return `$${params.length}::${castType(c.type)}`;
          })
          .join(', ')})`,
    );
    return {
      sql: `${head}(${keyColumns.map((c) => quoteIdent(c.name)).join(', ')}) IN (${tuples.join(', ')})`,
      params,
      rows: rows.length,
    };
  });
}

/** Classes whose PostgreSQL sort order already is the code-point order of their canonical text. */
const NATURAL_ORDER = new Set(['int', 'decimal', 'float', 'bool', 'uuid', 'bytes', 'date', 'time', 'timestamp', 'timestamptz']);

/**
 * The key expression readRows sorts and compares by. Verification merges both sides in binary
 * (code-point) key order, CockroachDB's STRING order, so text compares under the "C" collation (the
 * database's default may be linguistic) and enums and other types compare by their text, not by
 * their declaration order. Note that a sort under another collation than the key index's cannot use
 * the index: such tables are read with a sort per page.
 */
function sortKey(c: ColumnInfo, expr: string): string {
  if (NATURAL_ORDER.has(c.class)) return expr;
  return c.class === 'text' ? `${expr} COLLATE "C"` : `${expr}::text COLLATE "C"`;
}

/**
 * One page of a keyset scan in binary key order:
 *   SELECT "id", "name" FROM "public"."t" WHERE ("id") > ($1::bigint) ORDER BY "id" LIMIT 1000
 * Row comparison uses the primary-key index directly when no collation has to be forced.
 */
export function renderSelectPage(
  schema: TargetSchema,
  table: TableInfo,
  keyColumns: readonly ColumnInfo[],
  after: readonly JsonValue[] | undefined,
  limit: number,
): SqlStatement {
  const select = `SELECT ${table.columns.map((c) => quoteIdent(c.name)).join(', ')}\nFROM ${tableRef(schema, table)}\n`;
  const keys = keyColumns.map((c) => sortKey(c, quoteIdent(c.name)));
  const order = `ORDER BY ${keys.join(', ')}\nLIMIT ${Math.max(1, Math.floor(limit))}`;
  if (!after) return { sql: select + order, params: [], rows: 0 };
  const params = keyColumns.map((c, i) => pgParam(c, after[i]));
  const bounds = keyColumns.map((c, i) => sortKey(c, `$${i + 1}::${castType(c.type)}`));
  const where = `WHERE (${keys.join(', ')}) > (${bounds.join(', ')})\n`;
  return { sql: select + where + order, params, rows: 0 };
}
