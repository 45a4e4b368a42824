/**
 * Issue 6's goals, checked against a run. A goal whose measurement was not taken at the stated
 * conditions (fewer than 1M staged rows, another steady rate, a phase skipped) reports met = null and
 * says why, rather than a yes or no that would mislead.
 */
import type { BenchOptions } from '../lib/options.js';
import type { PhaseResults } from './results.js';

export interface Line {
  readonly measure: string;
  readonly value: string;
  readonly goal: string;
  /** true / false against the goal, null when not comparable, undefined for figures without a goal. */
  readonly met?: boolean | null;
  readonly note?: string;
}

const MiB = 1024 * 1024;
const n = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');

export const GOALS = {
  ingestRowsPerSecond: 50_000,
  endToEndRatio: 0.5,
  freshnessP99Ms: 1000,
  freshnessRate: 5000,
  peakRssBytes: 300 * MiB,
  peakRssBacklogRows: 1_000_000,
  helpMs: 250,
} as const;

export function evaluate(results: PhaseResults, options: BenchOptions): Line[] {
  const lines: Line[] = [];
  const { startup, baseline, backlog, freshness, memory } = results;

  if (memory) {
    const v = memory.stagingOnlyIngestRowsPerSecond;
    lines.push({
      measure: `Ingest, staging only (${n(memory.rows)} rows, apply idle)`,
      value: `${n(v)} rows/s`,
      goal: `>= ${n(GOALS.ingestRowsPerSecond)} rows/s`,
      met: v >= GOALS.ingestRowsPerSecond,
    });
  }
  if (backlog) {
    lines.push({
      measure: `Ingest while applying (${n(backlog.rows)}-row backlog)`,
      value: `${n(backlog.ingestRowsPerSecond)} rows/s`,
      goal: memory ? '(information)' : `>= ${n(GOALS.ingestRowsPerSecond)} rows/s`,
      met: memory ? undefined : backlog.ingestRowsPerSecond >= GOALS.ingestRowsPerSecond,
    });
    lines.push({
      measure: `End to end, ${n(backlog.rows)}-row backlog (first POST -> last commit)`,
      value: `${n(backlog.endToEndRowsPerSecond)} rows/s`,
      goal: `>= ${GOALS.endToEndRatio} x baseline`,
    });
  }
  if (baseline) {
    lines.push({
      measure: `Baseline: direct writes, ${baseline.batchSize} rows/statement, 1 txn/window`,
      value: `${n(baseline.rowsPerSecond)} rows/s`,
      goal: '(reference)',
    });
  }
  if (backlog && baseline) {
    const ratio = backlog.endToEndRowsPerSecond / baseline.rowsPerSecond;
    lines.push({
      measure: 'Ratio end to end / baseline (staged mode)',
      value: ratio.toFixed(2),
      goal: `>= ${GOALS.endToEndRatio.toFixed(2)}`,
      met: ratio >= GOALS.endToEndRatio,
    });
  }
  if (freshness) {
    const f = freshness.resolvedToCommitMs;
    const comparable = options.freshnessRate === GOALS.freshnessRate;
    lines.push({
      measure: `Freshness p50 / p99, resolved -> commit, at ${n(freshness.targetRowsPerSecond)} rows/s`,
      value: `${f.p50} / ${f.p99} ms`,
      goal: `p99 <= ${n(GOALS.freshnessP99Ms)} ms at ${n(GOALS.freshnessRate)} rows/s`,
      met: comparable ? f.p99 <= GOALS.freshnessP99Ms : null,
      note: comparable ? undefined : 'measured at another rate',
    });
    const s = freshness.sourceToCommitMs;
    lines.push({
      measure: 'Freshness p50 / p99, source time of the resolved timestamp -> commit',
      value: `${s.p50} / ${s.p99} ms`,
      goal: '(information)',
    });
  }
  if (memory) {
    const peak = memory.peakRssBytes ?? Number.NaN;
    const comparable = options.memoryRows >= GOALS.peakRssBacklogRows;
    lines.push({
      measure: `Peak RSS of the engine, ${n(memory.rows)}-row staged backlog`,
      value: `${n(peak / MiB)} MiB`,
      goal: `<= ${n(GOALS.peakRssBytes / MiB)} MiB with 1M rows`,
      met: comparable ? peak <= GOALS.peakRssBytes : null,
      note: comparable ? undefined : 'backlog below 1M rows',
    });
    lines.push({
      measure: `Apply of the staged ${n(memory.rows)}-row backlog`,
      value: `${n(memory.applyRowsPerSecond)} rows/s`,
      goal: '(information)',
    });
  }
  if (startup) {
    lines.push({
      measure: `CLI start-up, molt-failback --help (median of ${startup.runs})`,
      value: `${startup.medianMs} ms (CPU ${startup.medianCpuMs} ms)`,
      goal: `<= ${GOALS.helpMs} ms`,
      met: startup.medianMs <= GOALS.helpMs,
    });
  }
  return lines;
}

export function markdownTable(lines: readonly Line[]): string {
  const met = (l: Line) => (l.met === undefined ? '' : l.met === null ? `n/a (${l.note})` : l.met ? 'yes' : '**no**');
  const rows = lines.map((l) => `| ${l.measure} | ${l.value} | ${l.goal} | ${met(l)} |`);
  return ['| measure | value | goal | met |', '|---|---:|---|---|', ...rows].join('\n');
}
