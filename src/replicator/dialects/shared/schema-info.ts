/** Assembling SchemaInfo from catalog rows, the same way for every dialect. No SQL here. */
import type { ColumnInfo, ForeignKeyEdge, SchemaInfo, TableInfo, TargetSchema } from '../../types.js';

/**
 * Assembles SchemaInfo: primary-key columns first in key order, then the rest in catalog order.
 * `keyColumns` lists (table, column) for every primary-key column, each table's in key order.
 */
export function buildSchemaInfo(
  schema: TargetSchema,
  columnsByTable: ReadonlyMap<string, readonly ColumnInfo[]>,
  keyColumns: Iterable<readonly [table: string, column: string]>,
  foreignKeys: readonly ForeignKeyEdge[],
): SchemaInfo {
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
    tables.set(lower, { name, columns: ordered, primaryKey });
  }
  return {
    schema,
    tables,
    foreignKeys: foreignKeys.map((e) => ({ child: e.child, parent: e.parent })),
  };
}
