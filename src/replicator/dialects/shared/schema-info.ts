/** Assembling SchemaInfo from catalog rows, the same way for every dialect. No SQL here. */
import type { ColumnInfo, ForeignKeyEdge, SchemaInfo, SelfReference, TableInfo, TargetSchema } from '../../types.js';

/** One column pair of a foreign key from a table to itself, as catalogs list them. */
export interface SelfReferenceColumn {
  readonly table: string;
  readonly constraint: string;
  readonly column: string;
  readonly referenced: string;
}

/**
 * Assembles SchemaInfo: primary-key columns first in key order, then the rest in catalog order.
 * `keyColumns` lists (table, column) for every primary-key column, each table's in key order;
 * `selfReferences` the column pairs of every foreign key from a table to itself, each constraint's in
 * its column order.
 */
export function buildSchemaInfo(
  schema: TargetSchema,
  columnsByTable: ReadonlyMap<string, readonly ColumnInfo[]>,
  keyColumns: Iterable<readonly [table: string, column: string]>,
  foreignKeys: readonly ForeignKeyEdge[],
  selfReferences: Iterable<SelfReferenceColumn> = [],
): SchemaInfo {
  const selfRefs = new Map<string, Map<string, { columns: string[]; referenced: string[] }>>();
  for (const r of selfReferences) {
    let byName = selfRefs.get(r.table);
    if (!byName) selfRefs.set(r.table, (byName = new Map()));
    let fk = byName.get(r.constraint);
    if (!fk) byName.set(r.constraint, (fk = { columns: [], referenced: [] }));
    fk.columns.push(r.column);
    fk.referenced.push(r.referenced);
  }
  const keys = new Map<string, string[]>();
  for (const [table, column] of keyColumns) {
    let list = keys.get(table);
    if (!list) keys.set(table, (list = []));
    list.push(column);
  }
  const tables = new Map<string, TableInfo>();
  for (const [name, columns] of columnsByTable) {
    const primaryKey = keys.get(name) ?? [];
    const inKey = new Set(primaryKey);
    const ordered = [
      ...primaryKey.map((k) => columns.find((c) => c.name === k)!).filter(Boolean),
      ...columns.filter((c) => !inKey.has(c.name)),
    ];
    const lower = name.toLowerCase();
    // Two tables differing only by case: keep the one spelled like its folded key, which is what a
    // case-insensitive match from a lower-case changefeed topic should reach.
    if (tables.has(lower) && name !== lower) continue;
    // Only tables that reference themselves carry the field, so every other TableInfo looks as before.
    const own: SelfReference[] | undefined = selfRefs.has(name) ? [...selfRefs.get(name)!.values()] : undefined;
    tables.set(lower, own ? { name, columns: ordered, primaryKey, selfReferences: own } : { name, columns: ordered, primaryKey });
  }
  return {
    schema,
    tables,
    foreignKeys: foreignKeys.map((e) => ({ child: e.child, parent: e.parent })),
  };
}
