/**
 * Picks the next window to apply for one target schema: (applied, to] where `to` is either the newest
 * resolved timestamp (when everything up to it fits in one page of --scanSize rows, so small
 * consecutive resolved windows merge into one transaction) or the last complete source transaction
 * (HLC) inside a full page. One HLC is never split: when the first HLC alone overflows a page, the
 * caller must read that HLC whole.
 *
 * Why any complete-HLC boundary is consistent: every boundary t chosen here is <= a resolved timestamp
 * already received, so every mutation with HLC <= t has arrived (CockroachDB emits no new row at or below
 * a resolved timestamp), and applying exactly those mutations gives the source's state as of t.
 */
import { compareHlc, type Hlc } from '../../lib/hlc.js';
import type { StagedRow } from './ports.js';

export type WindowChoice =
  /**
   * Apply `rows` and advance to `to`. `complete` is true when the page held every row up to the bound
   * passed as `resolved` (the worker passes page.hi, which may be a read-span bound or an older resolved
   * timestamp, not necessarily the newest resolved one).
   */
  | { readonly kind: 'window'; readonly to: Hlc; readonly rows: readonly StagedRow[]; readonly complete: boolean }
  /** The first HLC alone has more rows than a page: read all rows of `hlc` and apply them as one window. */
  | { readonly kind: 'single-hlc'; readonly hlc: Hlc };

/**
 * @param page rows in (applied, resolved] ordered by HLC, read with limit scanSize + 1
 */
export function chooseWindow(resolved: Hlc, page: readonly StagedRow[], scanSize: number): WindowChoice {
  if (page.length <= scanSize) return { kind: 'window', to: resolved, rows: page, complete: true };
  // The (scanSize+1)th row shows whether the page ends inside an HLC; rows at its HLC may continue
  // beyond the page, so the window stops before that HLC.
  const cut = (page[scanSize] as StagedRow).hlc;
  let end = scanSize;
  while (end > 0 && compareHlc((page[end - 1] as StagedRow).hlc, cut) === 0) end--;
  if (end === 0) return { kind: 'single-hlc', hlc: cut };
  const rows = page.slice(0, end);
  return { kind: 'window', to: (rows[rows.length - 1] as StagedRow).hlc, rows, complete: false };
}

/**
 * How far past the applied checkpoint one staging read reaches, in HLC wall nanoseconds. Reading
 * (applied, newest resolved] in one go lets a backlog-sized range into one statement, and PostgreSQL
 * plans that range from statistics that a queue-like table never has right (never analysed, or a
 * histogram that ends below every staged HLC): it then estimates a few hundred rows, picks a bitmap
 * scan and sorts the whole backlog to return one page (measured: 1 s per 10,000-row page with 700k
 * staged, against 5 ms for the ordered index scan). Bounding each read to a span that holds about one
 * page keeps even that plan proportional to a page. Any HLC at or below a received resolved timestamp
 * is a consistent cut, so a window may end at a span's bound.
 *
 * The span adapts: a page that overflows sets it to the range that held one page (plus a quarter, so
 * windows stay full); a read that leaves the page short widens it (at most 16 times per read, so one
 * wrong guess costs at most 16 pages of work).
 */
export class ReadSpan {
  private nanos: bigint;

  constructor(initialNanos = 1_000_000_000n) {
    this.nanos = initialNanos > 0n ? initialNanos : 1n;
  }

  get spanNanos(): bigint {
    return this.nanos;
  }

  /** The upper bound of the next read after `lo`: lo + span, or `upTo` when that is nearer. Always > lo. */
  bound(lo: Hlc, upTo: Hlc): Hlc {
    const end = lo.nanos + this.nanos;
    return end >= upTo.nanos ? upTo : { nanos: end, logical: 0 };
  }

  /** A page overflowed: `cut` is its first row past scanSize rows, read from `from`. */
  overflowed(from: Hlc, cut: Hlc): void {
    const held = cut.nanos - from.nanos;
    this.nanos = held > 0n ? (held * 5n) / 4n + 1n : 1n;
  }

  /** (lo, hi] held `rows` rows and the page still has room for `room` more: widen for the next read. */
  widen(lo: Hlc, hi: Hlc, rows: number, room: number): void {
    const width = hi.nanos - lo.nanos > 0n ? hi.nanos - lo.nanos : 1n;
    let factor = 16n;
    if (rows > 0) {
      const wanted = BigInt(Math.ceil((room * 1.25) / rows));
      factor = wanted < 2n ? 2n : wanted > 16n ? 16n : wanted;
    }
    const next = width * factor;
    this.nanos = next > this.nanos ? next : this.nanos * 2n;
  }
}
