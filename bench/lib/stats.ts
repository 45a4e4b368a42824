/** Small statistics helpers for the report. */

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export const median = (values: readonly number[]): number => percentile(values, 50);

export const round = (n: number, digits = 1): number => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

/** Rows per second, rounded to a whole row. */
export const rate = (rows: number, ms: number): number => (ms > 0 ? Math.round((rows * 1000) / ms) : Number.NaN);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
