/**
 * One chunk's comparison: a digest (row count and sha256 of the projected canonical rows) that settles
 * equal chunks cheaply, and for unequal chunks a merge of the two key-ordered row lists that classifies
 * each differing key. Pure functions over rows already in memory.
 */
import { createHash } from 'node:crypto';
import type { DifferenceKind } from './types.js';
import type { CanonicalKey, KeyComparator } from './order.js';

/** A row projected onto the compared columns, primary key first (see shape.ts). */
export type ProjectedRow = readonly (string | null)[];

export interface ChunkDigest {
  readonly rows: number;
  readonly sha256: string;
}

export function digestRows(rows: readonly ProjectedRow[]): ChunkDigest {
  const hash = createHash('sha256');
  // JSON arrays keep NULL apart from the text "null" and make row and value boundaries unambiguous.
  for (const row of rows) hash.update(`${JSON.stringify(row)}\n`);
  return { rows: rows.length, sha256: hash.digest('hex') };
}

export function sameDigest(a: ChunkDigest, b: ChunkDigest): boolean {
  return a.rows === b.rows && a.sha256 === b.sha256;
}

/** One differing key inside a chunk; rows are kept so values can be shown when asked. */
export interface KeyDifference {
  readonly kind: DifferenceKind;
  readonly key: CanonicalKey;
  /** Indexes (into the compared columns) of the values that differ, for `changed`. */
  readonly columns?: readonly number[];
  readonly source?: ProjectedRow;
  readonly target?: ProjectedRow;
}

export const keyOf = (row: ProjectedRow, keyLength: number): CanonicalKey => row.slice(0, keyLength) as string[];

/** Stable identity of a key across checks (canonical texts cannot be confused once JSON-quoted). */
export const keyId = (key: CanonicalKey): string => JSON.stringify(key);

/**
 * Merges the two sides' rows of one key range (each in ascending key order) and lists every key whose
 * row is missing on the target, extra on the target, or present on both with different values.
 */
export function diffRows(
  source: readonly ProjectedRow[],
  target: readonly ProjectedRow[],
  keyLength: number,
  compare: KeyComparator,
): KeyDifference[] {
  const out: KeyDifference[] = [];
  let i = 0;
  let j = 0;
  while (i < source.length || j < target.length) {
    const s = source[i];
    const t = target[j];
    const order = s === undefined ? 1 : t === undefined ? -1 : compare(keyOf(s, keyLength), keyOf(t, keyLength));
    if (order < 0 && s) {
      out.push({ kind: 'missing', key: keyOf(s, keyLength), source: s });
      i++;
    } else if (order > 0 && t) {
      out.push({ kind: 'extra', key: keyOf(t, keyLength), target: t });
      j++;
    } else if (s && t) {
      const columns: number[] = [];
      for (let c = keyLength; c < s.length; c++) if (s[c] !== t[c]) columns.push(c);
      if (columns.length > 0) out.push({ kind: 'changed', key: keyOf(s, keyLength), columns, source: s, target: t });
      i++;
      j++;
    }
  }
  return out;
}
