/**
 * Items 1 and 2, the catch-up case: the whole backlog is posted as fast as the engine accepts it,
 * with each window's resolved message sent as soon as its rows are acknowledged (as a changefeed
 * catching up does), so staging and applying overlap. Ingest is rows / (first POST -> last body's
 * 200); end to end is rows / (first POST -> the last window's commit seen on the target).
 */
import { percentile, rate, round } from '../lib/stats.js';
import { Sender } from '../engine/sender.js';
import { verifyTarget } from '../verify.js';
import type { BacklogWorkload } from './backlog-workload.js';
import type { BenchContext } from './context.js';
import { closeEngineRun, describeEngine, openEngineRun, type EngineEvidence } from './engine-run.js';

export interface BacklogResult {
  readonly rows: number;
  readonly bodies: number;
  readonly bodyBytesAvg: number;
  readonly windows: number;
  readonly ingestMs: number;
  readonly ingestRowsPerSecond: number;
  readonly endToEndMs: number;
  readonly endToEndRowsPerSecond: number;
  /** From the last body's 200 to the last commit: the apply tail after ingest finished. */
  readonly applyTailMs: number;
  readonly postLatencyMs: { readonly p50: number; readonly p99: number };
  readonly retries503: number;
  readonly verifiedRows: number;
  readonly engine: EngineEvidence;
}

export async function runBacklog(ctx: BenchContext, work: BacklogWorkload): Promise<BacklogResult> {
  const { options } = ctx;
  const { feed } = work;
  const run = await openEngineRun(ctx, 'backlog');
  ctx.progress(`backlog: posting ${feed.rows} rows in ${feed.bodies.length} bodies and ${feed.windows.length} resolved windows`);
  const sender = new Sender(run.client, options.connections, false);
  run.tracker.resetStallClock();
  sender.add(feed.bodies, feed.windows);
  sender.close();
  const lastMarker = feed.windows[feed.windows.length - 1]!.marker;
  const waitCommit = run.tracker.waitFor(lastMarker, options.stallSeconds * 1000, run.engine.isRunning, () => describeEngine(run));
  // Surface a sender failure at once instead of waiting for the commit stall timeout.
  await Promise.race([sender.done(), waitCommit.then(() => sender.done())]);
  const committedAt = await waitCommit;
  const done = await run.snapshot();
  const { firstPostAt, lastAckAt } = sender.times;
  ctx.progress('backlog: all windows committed; verifying the target');
  const verified = await verifyTarget(run.db, work.model, ctx.codec, 'backlog (end to end)');
  const engine = await closeEngineRun(ctx, run, feed.rows, done, feed.windows[feed.windows.length - 1]!.resolvedSeconds);
  const lat = run.client.stats.latenciesMs;
  return {
    rows: feed.rows,
    bodies: feed.bodies.length,
    bodyBytesAvg: Math.round(work.bytes / feed.bodies.length),
    windows: feed.windows.length,
    ingestMs: Math.round(lastAckAt - firstPostAt),
    ingestRowsPerSecond: rate(feed.rows, lastAckAt - firstPostAt),
    endToEndMs: Math.round(committedAt - firstPostAt),
    endToEndRowsPerSecond: rate(feed.rows, committedAt - firstPostAt),
    applyTailMs: Math.round(committedAt - lastAckAt),
    postLatencyMs: { p50: round(percentile(lat, 50)), p99: round(percentile(lat, 99)) },
    retries503: run.client.stats.retries503,
    verifiedRows: verified.rowsChecked,
    engine,
  };
}
