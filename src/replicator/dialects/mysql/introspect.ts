/**
 * MySQL / MariaDB catalog reads over information_schema: tables, columns, primary-key order and
 * foreign keys inside one database. Read-only.
 */
import type { ColumnClass, ColumnInfo, SchemaInfo, TargetSchema } from '../../types.js';
import { buildSchemaInfo } from '../shared/schema-info.js';
import { makeTargetSchema } from '../shared/target.js';

/** The part of a mysql2 promise connection or pool introspection needs. */
export interface MyQueryable {
  query(sql: string, values?: unknown[]): Promise<[unknown, unknown]>;
}

export type MyFlavor = 'mysql' | 'mariadb';

export async function rowsOf<R>(db: MyQueryable, sql: string, values: unknown[] = []): Promise<R[]> {
  const [rows] = await db.query(sql, values);
  return rows as R[];
}

export function myColumnClass(dataType: string, columnType: string, isJson: boolean): ColumnClass {
  if (isJson) return 'json';
  const dt = dataType.toLowerCase();
  const ct = columnType.toLowerCase();
  switch (dt) {
    case 'tinyint':
      // MySQL's BOOL is TINYINT(1); MySQL 8.0.19+ still shows the (1) for it.
      return ct.startsWith('tinyint(1)') ? 'bool' : 'int';
    case 'smallint':
    case 'mediumint':
    case 'int':
    case 'integer':
    case 'bigint':
    case 'year':
      return 'int';
    case 'decimal':
    case 'numeric':
      return 'decimal';
    case 'float':
    case 'double':
    case 'real':
      return 'float';
    case 'bit':
      return ct === 'bit(1)' ? 'bool' : 'other';
    case 'char':
      // The usual home of a UUID on MySQL, which has no UUID type.
      return ct.startsWith('char(36)') ? 'uuid' : 'text';
    case 'binary':
      return ct === 'binary(16)' ? 'uuid' : 'bytes';
    case 'uuid':
      return 'uuid';
    case 'varchar':
    case 'tinytext':
    case 'text':
    case 'mediumtext':
    case 'longtext':
      return 'text';
    case 'enum':
    case 'set':
      return 'enum';
    case 'json':
      return 'json';
    case 'varbinary':
    case 'tinyblob':
    case 'blob':
    case 'mediumblob':
    case 'longblob':
      return 'bytes';
    case 'date':
      return 'date';
    case 'time':
      return 'time';
    case 'datetime':
      return 'timestamp';
    case 'timestamp':
      return 'timestamptz';
    default:
      return 'other';
  }
}

export async function resolveMySchema(db: MyQueryable, schema: TargetSchema): Promise<TargetSchema | undefined> {
  if (schema.parts.length !== 1) return undefined;
  const name = schema.parts[0]!;
  const rows = await rowsOf<{ name: string }>(
    db,
    'SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE LOWER(SCHEMA_NAME) = LOWER(?)',
    [name],
  );
  const hit = rows.find((r) => r.name === name) ?? (rows.length === 1 ? rows[0] : undefined);
  return hit ? { ...makeTargetSchema([hit.name]), key: schema.key } : undefined;
}

const COLUMNS_SQL = `
SELECT c.TABLE_NAME AS table_name, c.COLUMN_NAME AS column_name, c.DATA_TYPE AS data_type,
       c.COLUMN_TYPE AS column_type, c.IS_NULLABLE AS is_nullable, c.COLUMN_DEFAULT AS column_default,
       c.EXTRA AS extra
FROM information_schema.COLUMNS c
JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
WHERE c.TABLE_SCHEMA = ? AND t.TABLE_TYPE = 'BASE TABLE'
ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION`;

const PRIMARY_KEYS_SQL = `
SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name
FROM information_schema.KEY_COLUMN_USAGE
WHERE TABLE_SCHEMA = ? AND CONSTRAINT_NAME = 'PRIMARY'
ORDER BY TABLE_NAME, ORDINAL_POSITION`;

const FOREIGN_KEYS_SQL = `
SELECT DISTINCT TABLE_NAME AS child, REFERENCED_TABLE_NAME AS parent
FROM information_schema.KEY_COLUMN_USAGE
WHERE TABLE_SCHEMA = ? AND REFERENCED_TABLE_SCHEMA = ? AND REFERENCED_TABLE_NAME IS NOT NULL
  AND TABLE_NAME <> REFERENCED_TABLE_NAME
ORDER BY 1, 2`;

// Foreign keys of a table on itself, left out above: their column pairs order rows within a batch.
// InnoDB names foreign keys uniquely per database.
const SELF_REFERENCES_SQL = `
SELECT TABLE_NAME AS table_name, CONSTRAINT_NAME AS constraint_name, COLUMN_NAME AS column_name,
       REFERENCED_COLUMN_NAME AS referenced
FROM information_schema.KEY_COLUMN_USAGE
WHERE TABLE_SCHEMA = ? AND REFERENCED_TABLE_SCHEMA = ? AND TABLE_NAME = REFERENCED_TABLE_NAME
ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION`;

// MariaDB's JSON is LONGTEXT plus a json_valid() check; the column-level check is named after the column.
const MARIADB_JSON_SQL = `
SELECT TABLE_NAME AS table_name, CHECK_CLAUSE AS clause
FROM information_schema.CHECK_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = ? AND CHECK_CLAUSE LIKE 'json_valid(%'`;

export async function introspectMy(db: MyQueryable, schema: TargetSchema, flavor: MyFlavor): Promise<SchemaInfo | undefined> {
  const resolved = await resolveMySchema(db, schema);
  if (!resolved) return undefined;
  const name = resolved.parts[0]!;
  const cols = await rowsOf<{
    table_name: string;
    column_name: string;
    data_type: string;
    column_type: string;
    is_nullable: string;
    column_default: string | null;
    extra: string;
  }>(db, COLUMNS_SQL, [name]);
  const pks = await rowsOf<{ table_name: string; column_name: string }>(db, PRIMARY_KEYS_SQL, [name]);
  const fks = await rowsOf<{ child: string; parent: string }>(db, FOREIGN_KEYS_SQL, [name, name]);
  const selfRefs = await rowsOf<{ table_name: string; constraint_name: string; column_name: string; referenced: string }>(db, SELF_REFERENCES_SQL, [name, name]);
  const jsonColumns = new Set<string>();
  if (flavor === 'mariadb') {
    for (const r of await rowsOf<{ table_name: string; clause: string }>(db, MARIADB_JSON_SQL, [name])) {
      const m = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(r.clause.trim());
      if (m) jsonColumns.add(`${r.table_name}\u0000${m[1]!.replace(/``/g, '`')}`);
    }
  }
  const columnsByTable = new Map<string, ColumnInfo[]>();
  for (const r of cols) {
    let list = columnsByTable.get(r.table_name);
    if (!list) columnsByTable.set(r.table_name, (list = []));
    const extra = r.extra ?? '';
    // MariaDB reports "no default" as the string NULL; a real string default is quoted ('NULL').
    const hasDefault =
      (r.column_default !== null && !(flavor === 'mariadb' && r.column_default === 'NULL')) || /auto_increment/i.test(extra);
    list.push({
      name: r.column_name,
      type: r.column_type,
      class: myColumnClass(r.data_type, r.column_type, jsonColumns.has(`${r.table_name}\u0000${r.column_name}`)),
      nullable: r.is_nullable === 'YES',
      // EXTRA says "VIRTUAL GENERATED" / "STORED GENERATED"; MySQL's "DEFAULT_GENERATED" is only an
      // expression default and the column is writable.
      generated: /\b(VIRTUAL|STORED) GENERATED\b/i.test(extra),
      hasDefault,
    });
  }
  const keys = pks.map((r) => [r.table_name, r.column_name] as const);
  const selfColumns = selfRefs.map((r) => ({ table: r.table_name, constraint: r.constraint_name, column: r.column_name, referenced: r.referenced }));
  return buildSchemaInfo(resolved, columnsByTable, keys, fks, selfColumns);
}
