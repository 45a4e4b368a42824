/**
 * Verifies one table whose two sides have a usable plan: a full pass over aligned chunks (digest
 * first, row diff only for chunks whose digests differ), then, while differences remain and the settle
 * time allows, re-checks of just the differing key ranges. A difference is reported only when it was
 * seen in the full pass and in every re-check after it: a row that matched once has been caught up by
 * replication, even if a later write makes it lag again. Memory: one chunk per side, plus the
 * differences themselves up to `trackLimit` keys (beyond that a range is followed by its counts only).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { digestRows, diffRows, keyId, sameDigest, type KeyDifference } from './chunk.js';
import { keyComparator, type CanonicalKey } from './order.js';
import type { TablePlan } from './shape.js';
import type { DifferenceCounts, RowDifference, RowValues, VerifyProgress } from './types.js';
import { walkChunks, type AlignedChunk, type PageReader } from './walk.js';

export interface TableRunOptions {
  readonly table: string;
  readonly plan: TablePlan;
  readonly readSource: PageReader;
  readonly readTarget: PageReader;
  readonly chunkSize: number;
  readonly maxDiffs: number;
  readonly recheckIntervalMs: number;
  readonly settleTimeoutMs: number;
  readonly showValues: boolean;
  /** Keys whose differences are followed individually; defaults to max(maxDiffs, 100000). */
  readonly trackLimit?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: VerifyProgress) => void;
}

export interface TableRunResult {
  readonly rows: { readonly source: number; readonly target: number };
  readonly chunks: { readonly compared: number; readonly differing: number };
  readonly rechecks: number;
  readonly counts: DifferenceCounts;
  readonly settled: number;
  readonly listed: readonly RowDifference[];
}

/** A key range (lo, hi] whose chunk differed, and what still differs in it. */
interface DifferingRange {
  readonly lo?: CanonicalKey;
  readonly hi?: CanonicalKey;
  /** The differences followed key by key, in key order; undefined once over the tracking limit. */
  diffs?: KeyDifference[];
  counts: DifferenceCounts;
}

const ZERO: DifferenceCounts = { missing: 0, extra: 0, changed: 0 };
const total = (c: DifferenceCounts) => c.missing + c.extra + c.changed;

function countKinds(diffs: readonly KeyDifference[]): DifferenceCounts {
  const c = { ...ZERO };
  for (const d of diffs) c[d.kind]++;
  return c;
}

export async function verifyTableRows(o: TableRunOptions): Promise<TableRunResult> {
  const compare = keyComparator(o.plan.keyFamilies);
  const trackLimit = o.trackLimit ?? Math.max(o.maxDiffs, 100_000);
  // Without --show-values the rows are dropped as soon as the columns that differ are known.
  const keep = (d: KeyDifference): KeyDifference => (o.showValues ? d : { kind: d.kind, key: d.key, columns: d.columns });
  // Compares a key range chunk by chunk; visit gets the differences of each chunk whose digests differ.
  const compareRange = async (
    visit: (chunk: AlignedChunk, diffs: KeyDifference[] | undefined) => void,
    from?: CanonicalKey,
    to?: CanonicalKey,
  ): Promise<void> => {
    const chunks = walkChunks(o.readSource, o.readTarget, { chunkSize: o.chunkSize, keyLength: o.plan.keyLength, compare, from, to, signal: o.signal });
    for await (const chunk of chunks) {
      const equal = sameDigest(digestRows(chunk.source), digestRows(chunk.target));
      visit(chunk, equal ? undefined : diffRows(chunk.source, chunk.target, o.plan.keyLength, compare).map(keep));
    }
  };
  const diffsIn = async (from?: CanonicalKey, to?: CanonicalKey): Promise<KeyDifference[]> => {
    const out: KeyDifference[] = [];
    await compareRange((_, diffs) => out.push(...(diffs ?? [])), from, to);
    return out;
  };

  // Full pass: each differing chunk becomes its own range, the unit of re-checking.
  const ranges: DifferingRange[] = [];
  const rows = { source: 0, target: 0 };
  const chunks = { compared: 0, differing: 0 };
  let tracked = 0;
  let overLimit = false;
  await compareRange((chunk, diffs) => {
    rows.source += chunk.source.length;
    rows.target += chunk.target.length;
    chunks.compared++;
    if (diffs) {
      chunks.differing++;
      overLimit ||= tracked + diffs.length > trackLimit;
      if (!overLimit) tracked += diffs.length;
      ranges.push({ lo: chunk.lo, hi: chunk.hi, diffs: overLimit ? undefined : diffs, counts: countKinds(diffs) });
    }
    o.onProgress?.({ kind: 'chunk', table: o.table, chunks: chunks.compared, sourceRows: rows.source, targetRows: rows.target, differingChunks: chunks.differing });
  });

  // Settle: re-read only the differing ranges until nothing is left or the time is up.
  let settled = 0;
  let rechecks = 0;
  const deadline = Date.now() + o.settleTimeoutMs;
  let pending = ranges.filter((r) => total(r.counts) > 0);
  while (pending.length > 0 && Date.now() < deadline) {
    await sleep(Math.min(o.recheckIntervalMs, deadline - Date.now()), undefined, { signal: o.signal });
    rechecks++;
    for (const range of pending) {
      const before = total(range.counts);
      if (range.diffs) {
        // Only the suspects can still be reported, so the re-read can stop at the last of them.
        const last = range.diffs[range.diffs.length - 1];
        const suspects = new Set(range.diffs.map((d) => keyId(d.key)));
        const now = await diffsIn(range.lo, last?.key ?? range.hi);
        range.diffs = now.filter((d) => suspects.has(keyId(d.key)));
        range.counts = countKinds(range.diffs);
      } else {
        range.counts = countKinds(await diffsIn(range.lo, range.hi));
      }
      settled += Math.max(0, before - total(range.counts));
    }
    pending = pending.filter((r) => total(r.counts) > 0);
    o.onProgress?.({ kind: 'recheck', table: o.table, round: rechecks, pendingDifferences: pending.reduce((n, r) => n + total(r.counts), 0) });
  }

  const counts = { ...ZERO };
  const listed: RowDifference[] = [];
  for (const range of ranges) {
    counts.missing += range.counts.missing;
    counts.extra += range.counts.extra;
    counts.changed += range.counts.changed;
    for (const d of range.diffs ?? []) if (listed.length < o.maxDiffs) listed.push(toReport(o.plan, d, o.showValues));
  }
  return { rows, chunks, rechecks, counts, settled, listed };
}

function toReport(plan: TablePlan, d: KeyDifference, showValues: boolean): RowDifference {
  const names = plan.columns.map((c) => c.name);
  const values = (row: readonly (string | null)[] | undefined): RowValues | undefined =>
    row ? Object.fromEntries(names.map((n, i) => [n, row[i] ?? null])) : undefined;
  return {
    kind: d.kind,
    key: Object.fromEntries(d.key.map((v, i) => [names[i] as string, v])),
    ...(d.columns ? { columns: d.columns.map((i) => names[i] as string) } : {}),
    ...(showValues ? { source: values(d.source), target: values(d.target) } : {}),
  };
}
