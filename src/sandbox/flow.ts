/**
 * What the engine has done, read from its own Prometheus endpoint (/_/varz, MOLT Replicator's metric
 * names): rows applied to the target (apply_upserts_total + apply_deletes_total) since a baseline,
 * how far the applied checkpoint trails the clock (lag), and throughput over the last few seconds.
 * Read-only; a scrape that fails is simply skipped.
 */
import { scrapeEngine, type EngineSnapshot } from '../steps/observe.js';

export interface FlowSample {
  /** Seconds since the meter started. */
  readonly elapsedSeconds: number;
  readonly rowsApplied: number;
  /** Rows per second over the last few seconds. */
  readonly rowsPerSecond: number;
  /** Now minus the wall time of the applied checkpoint (undefined before the first checkpoint). */
  readonly lagSeconds?: number;
  readonly stagedUnapplied?: number;
  readonly webhookErrors: number;
}

export interface FlowSummary {
  /** Rows the engine applied to the target (upserts + deletes, after collapsing) from the start of the workload. */
  readonly rowsApplied: number;
  readonly meanRowsPerSecond: number;
  readonly peakRowsPerSecond: number;
  readonly maxLagSeconds: number;
  readonly webhookRequests: number;
  readonly webhookErrors: number;
}

const WINDOW_MS = 3000;
const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

export class FlowMeter {
  private base?: EngineSnapshot;
  private readonly history: EngineSnapshot[] = [];
  private readonly started = Date.now();
  private peak = 0;
  private maxLag = 0;

  constructor(private readonly metricsUrl: string) {}

  /** Takes the baseline: rows applied are counted from here. */
  async start(): Promise<void> {
    this.base = await scrapeEngine(this.metricsUrl).catch(() => undefined);
  }

  async sample(): Promise<FlowSample | undefined> {
    let snap: EngineSnapshot;
    try {
      snap = await scrapeEngine(this.metricsUrl);
    } catch {
      return undefined;
    }
    this.base ??= snap;
    this.history.push(snap);
    while (this.history.length > 2 && (this.history[1] as EngineSnapshot).at <= snap.at - WINDOW_MS) this.history.shift();
    // The rate over the last few seconds; until two samples exist, over everything since the baseline.
    const first = this.history.length > 1 ? (this.history[0] as EngineSnapshot) : this.base;
    const rows = sum(snap.rows) - sum(this.base.rows);
    const dt = (snap.at - first.at) / 1000;
    const rate = dt > 0 ? (sum(snap.rows) - sum(first.rows)) / dt : 0;
    const applied = Math.max(0, ...Object.values(snap.applied));
    const lag = applied > 0 ? Math.max(0, snap.at / 1000 - applied) : undefined;
    this.peak = Math.max(this.peak, rate);
    if (lag !== undefined) this.maxLag = Math.max(this.maxLag, lag);
    this.last = { snap, rows };
    return {
      elapsedSeconds: (Date.now() - this.started) / 1000,
      rowsApplied: rows,
      rowsPerSecond: rate,
      lagSeconds: lag,
      stagedUnapplied: snap.stagedUnapplied,
      webhookErrors: snap.httpErrors - this.base.httpErrors,
    };
  }

  private last?: { snap: EngineSnapshot; rows: number };

  /** Totals since start(); the mean is over the meter's whole life (the workload and the catch-up). */
  summary(): FlowSummary {
    const rows = this.last?.rows ?? 0;
    const seconds = this.last && this.base ? (this.last.snap.at - this.base.at) / 1000 : 0;
    return {
      rowsApplied: rows,
      meanRowsPerSecond: seconds > 0 ? rows / seconds : 0,
      peakRowsPerSecond: this.peak,
      maxLagSeconds: this.maxLag,
      webhookRequests: (this.last?.snap.http200 ?? 0) - (this.base?.http200 ?? 0),
      webhookErrors: (this.last?.snap.httpErrors ?? 0) - (this.base?.httpErrors ?? 0),
    };
  }
}
