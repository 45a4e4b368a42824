/**
 * Walks one key range of a table on both sides at once with keyset pagination and yields aligned
 * chunks: each chunk holds both sides' rows of the same key interval (lo, hi], at most `chunkSize` per
 * side, so memory stays O(chunkSize) whatever the table size. The interval ends at the smaller of the
 * two sides' last keys (a side that returned a short page is exhausted), so rows of the side that read
 * further are simply read again in the next chunk. Every page is checked to come in strictly ascending
 * key order: if a database sorts keys differently (say, a case-insensitive collation), the merge would
 * report false differences, so that fails with KeyOrderError instead.
 */
import type { CanonicalKey, KeyComparator } from './order.js';
import { keyOf, type ProjectedRow } from './chunk.js';

/** Reads up to `limit` projected rows with keys strictly after `after`, in key order. */
export type PageReader = (after: CanonicalKey | undefined, limit: number) => Promise<ProjectedRow[]>;

export interface AlignedChunk {
  /** Exclusive lower bound (undefined: start of table). */
  readonly lo?: CanonicalKey;
  /** Inclusive upper bound (undefined: end of table). */
  readonly hi?: CanonicalKey;
  readonly source: readonly ProjectedRow[];
  readonly target: readonly ProjectedRow[];
}

export class KeyOrderError extends Error {
  constructor(
    readonly side: 'source' | 'target',
    readonly previous: CanonicalKey | undefined,
    readonly key: CanonicalKey,
  ) {
    super(
      `the ${side === 'source' ? 'CockroachDB' : 'target'} returned key ${JSON.stringify(key)} ` +
        (previous ? `after ${JSON.stringify(previous)}` : 'first') +
        ', out of the binary primary-key order verify pages by',
    );
    this.name = 'KeyOrderError';
  }
}

export interface WalkOptions {
  readonly chunkSize: number;
  readonly keyLength: number;
  readonly compare: KeyComparator;
  /** Exclusive lower bound of the range (undefined: start of table). */
  readonly from?: CanonicalKey;
  /** Inclusive upper bound of the range (undefined: end of table). */
  readonly to?: CanonicalKey;
  readonly signal?: AbortSignal;
}

export async function* walkChunks(source: PageReader, target: PageReader, options: WalkOptions): AsyncGenerator<AlignedChunk> {
  const { chunkSize, keyLength, compare, to } = options;
  let cursor = options.from;
  for (;;) {
    options.signal?.throwIfAborted();
    const [s, t] = await Promise.all([source(cursor, chunkSize), target(cursor, chunkSize)]);
    checkOrder(s, cursor, 'source', keyLength, compare);
    checkOrder(t, cursor, 'target', keyLength, compare);

    // The chunk may only extend as far as both sides have been read (a full page may continue beyond
    // its last key) and no further than the range.
    let hi: CanonicalKey | undefined = to;
    for (const page of [s, t]) {
      const last = page[page.length - 1];
      if (page.length < chunkSize || !last) continue;
      const key = keyOf(last, keyLength);
      if (hi === undefined || compare(key, hi) < 0) hi = key;
    }
    const within = (rows: ProjectedRow[]) => (hi === undefined ? rows : rows.filter((r) => compare(keyOf(r, keyLength), hi) <= 0));
    const chunk: AlignedChunk = { lo: cursor, hi, source: within(s), target: within(t) };
    if (chunk.source.length > 0 || chunk.target.length > 0) yield chunk;
    if (hi === undefined || (to !== undefined && compare(hi, to) === 0)) return;
    cursor = hi;
  }
}

function checkOrder(
  rows: readonly ProjectedRow[],
  after: CanonicalKey | undefined,
  side: 'source' | 'target',
  keyLength: number,
  compare: KeyComparator,
): void {
  let previous = after;
  for (const row of rows) {
    const key = keyOf(row, keyLength);
    if (previous !== undefined && compare(previous, key) >= 0) throw new KeyOrderError(side, previous, key);
    previous = key;
  }
}
