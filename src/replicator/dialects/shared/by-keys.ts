/**
 * Helpers for TargetTx.readByKeys, the same for every dialect: which columns to read, and the rows read
 * lined up with the keys asked for. No SQL and no driver.
 */
import type { JsonValue } from '../../../lib/exact-json.js';
import { TargetSchemaError, type ColumnInfo, type NormalisedRow, type TableInfo } from '../../types.js';
import { canonicalByClass } from './canonical.js';
import { shapeDeletes } from './payload.js';
import { scalarText } from './values.js';

/**
 * TargetTx.readByKeys for any dialect: the key columns plus `columns` are read by the statements the
 * dialect renders (`render`, chunked to its limits) and run (`run`, rows as canonical text in `read`
 * order), then lined up with `keys`.
 */
export async function readByKeysWith<S>(
  table: TableInfo,
  keys: readonly (readonly JsonValue[])[],
  columns: readonly string[],
  render: (keyColumns: readonly ColumnInfo[], keyRows: JsonValue[][], others: readonly ColumnInfo[]) => readonly S[],
  run: (statement: S, read: readonly ColumnInfo[]) => Promise<NormalisedRow[]>,
): Promise<(NormalisedRow | undefined)[]> {
  const { columns: keyColumns, rows } = shapeDeletes(table, keys);
  const others = columnsNamed(table, columns);
  const read = [...keyColumns, ...others];
  const found: NormalisedRow[] = [];
  for (const s of render(keyColumns, rows, others)) found.push(...(await run(s, read)));
  return alignByKey(keyColumns, keys, found);
}

/** The table's columns with these catalog names, in that order. */
export function columnsNamed(table: TableInfo, names: readonly string[]): ColumnInfo[] {
  return names.map((name) => {
    const c = table.columns.find((x) => x.name === name);
    if (!c) throw new TargetSchemaError(`table ${table.name} has no column "${name}"`, table.name, name);
    return c;
  });
}

/**
 * Rows read by key (key columns first, then the columns asked for, all canonical text), in any order,
 * lined up with `keys`: result[i] is keys[i]'s row without its key columns, or undefined when none came
 * back. A key finds its row through the canonical text of its changefeed values, which is how the row's
 * key reads back; a key that reads back otherwise is reported missing, never matched to another row.
 */
export function alignByKey(
  keyColumns: readonly ColumnInfo[],
  keys: readonly (readonly JsonValue[])[],
  rows: readonly NormalisedRow[],
): (NormalisedRow | undefined)[] {
  const n = keyColumns.length;
  const byKey = new Map<string, NormalisedRow>();
  for (const r of rows) byKey.set(r.slice(0, n).join('\u0000'), r.slice(n));
  return keys.map((k) => {
    const text = keyColumns.map((c, i) => {
      const v = k[i];
      return v === null || v === undefined ? '\u0001' : canonicalByClass(c.class, scalarText(v));
    });
    return byKey.get(text.join('\u0000'));
  });
}
