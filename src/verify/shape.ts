/**
 * Matches a table's columns on CockroachDB and on the target and decides how rows are compared:
 * which columns take part (those on both sides, matched case-insensitively, because MySQL and Oracle
 * spell names differently), how each side's row is projected onto them, and which type differences
 * still compare by value. Nothing here reads a database.
 */
import type { ColumnClass, NormalisedRow, TableInfo } from '../replicator/types.js';
import type { SchemaComparison } from './types.js';
import { keyClassesCompatible, orderFamily, type OrderFamily } from './order.js';

type Adjust = (value: string | null) => string | null;

export interface ComparedColumn {
  /** CockroachDB spelling (used in reports). */
  readonly name: string;
  readonly sourceIndex: number;
  readonly targetIndex: number;
  readonly sourceClass: ColumnClass;
  readonly targetClass: ColumnClass;
  /** Applied to each side's canonical text before comparison; undefined when none is needed. */
  readonly adjustSource?: Adjust;
  readonly adjustTarget?: Adjust;
}

/** How to compare one table; `columns` starts with the primary key in key order. */
export interface TablePlan {
  readonly columns: readonly ComparedColumn[];
  readonly keyLength: number;
  readonly keyFamilies: readonly OrderFamily[];
  readonly sourceKeyClasses: readonly ColumnClass[];
  readonly targetKeyClasses: readonly ColumnClass[];
}

// The engine writes a TIMESTAMPTZ into a zone-less column (MySQL DATETIME) as its UTC wall time, so the
// zone-less side is read as UTC: drop the "Z" of the zoned side's canonical instant.
const dropZone: Adjust = (v) => (v !== null && v.endsWith('Z') ? v.slice(0, -1) : v);

function adjusters(source: ColumnClass, target: ColumnClass): { adjustSource?: Adjust; adjustTarget?: Adjust; note?: string } {
  if (source === 'timestamptz' && target === 'timestamp') return { adjustSource: dropZone, note: 'compared as UTC wall time' };
  if (source === 'timestamp' && target === 'timestamptz') return { adjustTarget: dropZone, note: 'compared as UTC wall time' };
  return {};
}

const lower = (s: string) => s.toLowerCase();

/**
 * Compares the two catalogs' view of a table. Returns the comparison for the report and, when the rows
 * can be compared at all (same primary key, key types that sort alike), the plan to compare them by.
 */
export function planTable(source: TableInfo, target: TableInfo): { schema: SchemaComparison; plan?: TablePlan } {
  const problems: string[] = [];
  const notes: string[] = [];
  const targetByName = new Map(target.columns.map((c, i) => [lower(c.name), { column: c, index: i }]));
  const sourceNames = new Set(source.columns.map((c) => lower(c.name)));
  const columnsOnlyInSource = source.columns.filter((c) => !targetByName.has(lower(c.name))).map((c) => c.name);
  const columnsOnlyInTarget = target.columns.filter((c) => !sourceNames.has(lower(c.name))).map((c) => c.name);
  for (const name of columnsOnlyInSource) problems.push(`column ${name} exists on CockroachDB only`);
  for (const name of columnsOnlyInTarget) problems.push(`column ${name} exists on the target only`);

  const primaryKey = { source: [...source.primaryKey], target: [...target.primaryKey] };
  const sameKey =
    source.primaryKey.length > 0 &&
    source.primaryKey.length === target.primaryKey.length &&
    source.primaryKey.every((k, i) => lower(k) === lower(target.primaryKey[i] as string));
  const noKey = [source.primaryKey.length === 0 ? 'CockroachDB' : '', target.primaryKey.length === 0 ? 'the target' : ''].filter(Boolean);
  if (noKey.length > 0) {
    problems.push(`the table has no primary key on ${noKey.join(' and ')}; verify matches rows by primary key`);
  } else if (!sameKey) {
    problems.push(
      `primary keys differ: (${source.primaryKey.join(', ')}) on CockroachDB, (${target.primaryKey.join(', ')}) on the target; rows can only be compared by the same key`,
    );
  }

  const columns: ComparedColumn[] = [];
  const ordered = sameKey
    ? [...source.primaryKey.map((k) => source.columns.find((c) => lower(c.name) === lower(k))), ...source.columns.filter((c) => !source.primaryKey.some((k) => lower(k) === lower(c.name)))]
    : [];
  for (const col of ordered) {
    if (!col) continue;
    const other = targetByName.get(lower(col.name));
    if (!other) continue;
    const adjust = adjusters(col.class, other.column.class);
    if (col.class !== other.column.class) {
      notes.push(`column ${col.name}: ${col.type} on CockroachDB, ${other.column.type} on the target${adjust.note ? ` (${adjust.note})` : ''}`);
    }
    columns.push({
      name: col.name,
      sourceIndex: source.columns.indexOf(col),
      targetIndex: other.index,
      sourceClass: col.class,
      targetClass: other.column.class,
      adjustSource: adjust.adjustSource,
      adjustTarget: adjust.adjustTarget,
    });
  }

  const keyColumns = columns.slice(0, sameKey ? source.primaryKey.length : 0);
  if (sameKey) {
    for (const c of keyColumns) {
      if (!keyClassesCompatible(c.sourceClass, c.targetClass) || c.adjustSource || c.adjustTarget) {
        problems.push(
          `primary-key column ${c.name} is ${c.sourceClass} on CockroachDB and ${c.targetClass} on the target; verify cannot page both sides in the same key order`,
        );
      }
    }
  }
  const schema: SchemaComparison = { primaryKey, columnsOnlyInSource, columnsOnlyInTarget, problems, notes };
  const keyUsable = sameKey && !problems.some((p) => p.startsWith('primary-key column'));
  if (!keyUsable) return { schema };
  return {
    schema,
    plan: {
      columns,
      keyLength: keyColumns.length,
      keyFamilies: keyColumns.map((c) => orderFamily(c.sourceClass)),
      sourceKeyClasses: keyColumns.map((c) => c.sourceClass),
      targetKeyClasses: keyColumns.map((c) => c.targetClass),
    },
  };
}

/** A side's row projected onto the compared columns (key first), adjusted for comparison. */
export function projectRow(plan: TablePlan, row: NormalisedRow, side: 'source' | 'target'): (string | null)[] {
  return plan.columns.map((c) => {
    const value = row[side === 'source' ? c.sourceIndex : c.targetIndex] ?? null;
    const adjust = side === 'source' ? c.adjustSource : c.adjustTarget;
    return adjust ? adjust(value) : value;
  });
}
