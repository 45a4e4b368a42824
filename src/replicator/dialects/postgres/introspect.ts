/**
 * PostgreSQL catalog reads: tables, columns (type, nullability, generated, defaults), primary-key
 * order and foreign keys inside one schema. Read-only; one short transaction.
 */
import type { ColumnClass, ColumnInfo, SchemaInfo, TargetSchema } from '../../types.js';
import { buildSchemaInfo } from '../shared/schema-info.js';

/** The part of a pg client introspection needs (a PoolClient or a Client). */
export interface PgQueryable {
  query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

export function pgColumnClass(baseType: string, category: string, typtype: string): ColumnClass {
  if (category === 'A') return 'array';
  if (typtype === 'e') return 'enum';
  switch (baseType) {
    case 'int2':
    case 'int4':
    case 'int8':
    case 'oid':
      return 'int';
    case 'numeric':
      return 'decimal';
    case 'float4':
    case 'float8':
      return 'float';
    case 'bool':
      return 'bool';
    case 'text':
    case 'varchar':
    case 'bpchar':
    case 'name':
    case 'citext':
    case 'char':
      return 'text';
    case 'json':
    case 'jsonb':
      return 'json';
    case 'bytea':
      return 'bytes';
    case 'uuid':
      return 'uuid';
    case 'date':
      return 'date';
    case 'time':
    case 'timetz':
      return 'time';
    case 'timestamp':
      return 'timestamp';
    case 'timestamptz':
      return 'timestamptz';
    case 'interval':
      return 'interval';
    default:
      return 'other';
  }
}

// With an empty search_path, format_type() schema-qualifies every type outside pg_catalog, so casts
// to user-defined types (enums, domains) resolve whatever search_path the pool's sessions have.
const COLUMNS_SQL = `
SELECT c.relname AS table_name, a.attname AS column_name,
       format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS not_null,
       a.attgenerated <> '' AS generated,
       (a.atthasdef OR a.attidentity <> '') AS has_default,
       a.attidentity AS identity,
       bt.typname AS base_type, bt.typcategory AS category, bt.typtype AS typtype
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
JOIN pg_catalog.pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname, a.attnum`;

const PRIMARY_KEYS_SQL = `
SELECT c.relname AS table_name, a.attname AS column_name
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE i.indisprimary AND n.nspname = $1
ORDER BY c.relname, k.ord`;

// conparentid = 0 skips the copies of a constraint that PostgreSQL keeps on each partition.
const FOREIGN_KEYS_SQL = `
SELECT DISTINCT ch.relname AS child, pa.relname AS parent
FROM pg_catalog.pg_constraint k
JOIN pg_catalog.pg_class ch ON ch.oid = k.conrelid
JOIN pg_catalog.pg_namespace chn ON chn.oid = ch.relnamespace
JOIN pg_catalog.pg_class pa ON pa.oid = k.confrelid
JOIN pg_catalog.pg_namespace pan ON pan.oid = pa.relnamespace
WHERE k.contype = 'f' AND k.conparentid = 0 AND chn.nspname = $1 AND pan.nspname = $1 AND k.conrelid <> k.confrelid
ORDER BY 1, 2`;

// Foreign keys of a table on itself, left out above: their column pairs order rows within a batch.
// The constraint's oid stands for its name, which only has to group the pairs.
const SELF_REFERENCES_SQL = `
SELECT c.relname AS table_name, k.oid::text AS constraint_name, a.attname AS column_name, r.attname AS referenced
FROM pg_catalog.pg_constraint k
JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(k.conkey, k.confkey) WITH ORDINALITY AS u(attnum, refnum, ord)
JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum
JOIN pg_catalog.pg_attribute r ON r.attrelid = k.confrelid AND r.attnum = u.refnum
WHERE k.contype = 'f' AND k.conparentid = 0 AND k.conrelid = k.confrelid AND n.nspname = $1
ORDER BY c.relname, k.oid, u.ord`;

const SCHEMA_SQL = `
SELECT current_database() AS db, n.nspname AS schema
FROM pg_catalog.pg_namespace n
WHERE lower(n.nspname) = lower($1)`;

/**
 * Catalog spelling of the target schema, or undefined when the database part is not the connection's
 * database (PostgreSQL cannot write across databases) or the schema does not exist.
 */
export async function resolvePgSchema(db: PgQueryable, schema: TargetSchema): Promise<TargetSchema | undefined> {
  if (schema.parts.length !== 2) return undefined;
  const [dbName, schemaName] = schema.parts as [string, string];
  const { rows } = await db.query<{ db: string; schema: string }>(SCHEMA_SQL, [schemaName]);
  if (rows.length === 0 || rows[0]!.db.toLowerCase() !== dbName.toLowerCase()) return undefined;
  const hit = rows.find((r) => r.schema === schemaName) ?? (rows.length === 1 ? rows[0] : undefined);
  if (!hit) return undefined;
  return { parts: [hit.db, hit.schema], key: schema.key };
}

export async function introspectPg(db: PgQueryable, schema: TargetSchema): Promise<SchemaInfo | undefined> {
  const resolved = await resolvePgSchema(db, schema);
  if (!resolved) return undefined;
  const nsp = resolved.parts[1]!;
  await db.query(`SET LOCAL search_path TO ''`);
  const cols = await db.query<{
    table_name: string;
    column_name: string;
    type: string;
    not_null: boolean;
    generated: boolean;
    has_default: boolean;
    identity: string;
    base_type: string;
    category: string;
    typtype: string;
  }>(COLUMNS_SQL, [nsp]);
  const pks = await db.query<{ table_name: string; column_name: string }>(PRIMARY_KEYS_SQL, [nsp]);
  const fks = await db.query<{ child: string; parent: string }>(FOREIGN_KEYS_SQL, [nsp]);
  const selfRefs = await db.query<{ table_name: string; constraint_name: string; column_name: string; referenced: string }>(SELF_REFERENCES_SQL, [nsp]);

  const columnsByTable = new Map<string, ColumnInfo[]>();
  for (const r of cols.rows) {
    let list = columnsByTable.get(r.table_name);
    if (!list) columnsByTable.set(r.table_name, (list = []));
    list.push({
      name: r.column_name,
      type: r.type,
      class: pgColumnClass(r.base_type, r.category, r.typtype),
      nullable: !r.not_null,
      generated: r.generated,
      hasDefault: r.has_default,
      ...(r.identity === 'a' ? { identity: 'always' as const } : r.identity === 'd' ? { identity: 'by-default' as const } : {}),
    });
  }
  const keys = pks.rows.map((r) => [r.table_name, r.column_name] as const);
  const selfColumns = selfRefs.rows.map((r) => ({ table: r.table_name, constraint: r.constraint_name, column: r.column_name, referenced: r.referenced }));
  return buildSchemaInfo(resolved, columnsByTable, keys, fks.rows, selfColumns);
}
