/**
 * Item 3: freshness under a steady load. Rows are produced in real time at --freshness-rate with
 * source timestamps equal to wall time; at the end of every --resolved-ms window the window's rows go
 * out as one body (CockroachDB flushes its sink before emitting a resolved timestamp, and the runbook's
 * Flush.Frequency of 1 s is longer than the window) and, once acknowledged, the resolved message.
 * Freshness of a window = target commit seen (marker row, see targets/) - resolved POST sent.
 * A marker-only window is committed first (schema registration, apply lease, introspection), then
 * the first --freshness-warmup seconds of load are not counted either.
 */
import { percentile, rate, round, sleep } from '../lib/stats.js';
import { Sender } from '../engine/sender.js';
import { verifyTarget } from '../verify.js';
import { FeedBuilder, nowNanos } from '../workload/feed.js';
import { ExpectedState } from '../workload/model.js';
import { SteadySource } from '../workload/scripts.js';
import type { BenchContext } from './context.js';
import { closeEngineRun, describeEngine, openEngineRun, type EngineEvidence } from './engine-run.js';

export interface FreshnessResult {
  readonly targetRowsPerSecond: number;
  /** Wall time of the steady load, warm-up included. */
  readonly elapsedMs: number;
  readonly achievedRowsPerSecond: number;
  readonly rows: number;
  readonly windows: number;
  readonly measuredWindows: number;
  /** Resolved POST sent -> commit seen on the target. */
  readonly resolvedToCommitMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Per measured window, in order (to see whether slow windows cluster). */
  readonly resolvedToCommitSeriesMs: readonly number[];
  /** End of the window in source (= wall) time -> commit seen: what a reader of the target waits. */
  readonly sourceToCommitMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Most bodies waiting for a 200 at any window end (0-1 means the engine kept up with ingest). */
  readonly maxUnackedBodies: number;
  readonly commitObservation: string;
  readonly verifiedRows: number;
  readonly engine: EngineEvidence;
}

const summary = (values: number[]) => ({
  p50: round(percentile(values, 50)),
  p99: round(percentile(values, 99)),
  max: round(Math.max(...values)),
});

export async function runFreshness(ctx: BenchContext): Promise<FreshnessResult> {
  const { options } = ctx;
  const run = await openEngineRun(ctx, 'freshness');
  const windowMs = options.resolvedMs;
  const warmupWindows = Math.ceil((options.freshnessWarmupSeconds * 1000) / windowMs);
  const totalWindows = warmupWindows + Math.ceil((options.freshnessSeconds * 1000) / windowMs);
  const rowsPerWindow = (options.freshnessRate * windowMs) / 1000;
  ctx.progress(
    `freshness: ${options.freshnessRate} rows/s for ${options.freshnessWarmupSeconds + options.freshnessSeconds} s ` +
      `(${options.freshnessWarmupSeconds} s warm-up), one resolved every ${windowMs} ms`,
  );

  const model = new ExpectedState(options.tables);
  const startedAt = performance.now();
  const feed = new FeedBuilder(ctx.codec, model, {
    baseNanos: nowNanos(),
    windowNs: windowMs * 1_000_000,
    bodyBytes: options.bodyBytes,
    flushAtResolved: true,
    keepOps: false,
  });
  const source = new SteadySource(options.tables, model, options.seed);
  const sender = new Sender(run.client, options.connections, false);
  run.tracker.resetStallClock();
  let maxUnacked = 0;
  let sentBodies = 0;
  let sentWindows = 0;
  const failed = sender.done().then(
    () => undefined,
    (err: Error) => err,
  );

  const push = () => {
    sender.add(feed.bodies.slice(sentBodies), feed.windows.slice(sentWindows));
    sentBodies = feed.bodies.length;
    sentWindows = feed.windows.length;
  };
  const windowNs = windowMs * 1_000_000;
  // Prime: one window holding only the marker, committed before the load starts, so the engine's
  // one-off work (schema registration, apply lease, first introspection) is not taken for freshness.
  await sleep(windowMs);
  feed.closeWindowsBefore(windowNs);
  push();
  await run.tracker.waitFor(1, options.stallSeconds * 1000, run.engine.isRunning, () => describeEngine(run));
  const firstWindow = Math.ceil((performance.now() - startedAt) / windowMs);
  const loadStartedAt = performance.now();

  for (let w = firstWindow; w < firstWindow + totalWindows; w++) {
    const wait = startedAt + (w + 1) * windowMs - performance.now();
    if (wait > 0) await sleep(wait);
    if (sender.error) throw sender.error;
    if (!run.engine.isRunning()) throw new Error(`the engine exited during the freshness phase.\n${await describeEngine(run)}`);
    maxUnacked = Math.max(maxUnacked, sender.backlog);
    source.fillWindow(feed, w * windowNs, (w + 1) * windowNs, rowsPerWindow);
    feed.closeWindowsBefore((w + 1) * windowNs);
    push();
  }
  const generatedMs = performance.now() - loadStartedAt;
  sender.close();
  const lastMarker = feed.windows[feed.windows.length - 1]!.marker;
  const waitCommit = run.tracker.waitFor(lastMarker, options.stallSeconds * 1000, run.engine.isRunning, () => describeEngine(run));
  const err = await Promise.race([failed, waitCommit.then(() => failed)]);
  if (err) throw err;
  await waitCommit;
  const done = await run.snapshot();

  const resolvedToCommit: number[] = [];
  const sourceToCommit: number[] = [];
  for (let w = firstWindow + warmupWindows; w < feed.windows.length; w++) {
    const committed = run.tracker.commitAt[w]!;
    resolvedToCommit.push(committed - sender.times.resolvedSentAt[w]!);
    sourceToCommit.push(committed - (startedAt + (w + 1) * windowMs));
  }
  ctx.progress('freshness: done; verifying the target');
  const verified = await verifyTarget(run.db, model, ctx.codec, 'freshness');
  const engine = await closeEngineRun(ctx, run, feed.rows, done, feed.windows[feed.windows.length - 1]!.resolvedSeconds);
  return {
    targetRowsPerSecond: options.freshnessRate,
    elapsedMs: Math.round(generatedMs),
    achievedRowsPerSecond: rate(feed.rows, generatedMs),
    rows: feed.rows,
    windows: feed.windows.length,
    measuredWindows: resolvedToCommit.length,
    resolvedToCommitMs: summary(resolvedToCommit),
    resolvedToCommitSeriesMs: resolvedToCommit.map((ms) => round(ms)),
    sourceToCommitMs: summary(sourceToCommit),
    maxUnackedBodies: maxUnacked,
    commitObservation: engine.commitObservation,
    verifiedRows: verified.rowsChecked,
    engine,
  };
}
