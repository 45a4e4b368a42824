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
  /** Apply `rows` and advance to `to`. `complete` is true when `to` is the newest resolved timestamp. */
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
