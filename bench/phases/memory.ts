/**
 * Item 4, and the staging-only ingest figure. A backlog of --memory-rows (1M) is posted while every
 * resolved message is held back: each row is durable in staging and none is applicable, which is what
 * a target outage or a paused apply leaves behind (and needs no engine feature to arrange). Then the
 * resolved messages go out in order and the engine applies the lot. The engine's peak RSS is the
 * kernel's VmHWM for its process, read at the end of staging and at the end of apply, with VmRSS
 * sampled along the way for the timeline.
 */
import { rate, round, sleep } from '../lib/stats.js';
import { Sender } from '../engine/sender.js';
import { verifyTarget } from '../verify.js';
import { buildBacklog } from './backlog-workload.js';
import type { BenchContext } from './context.js';
import type { CpuCost } from './cpu-account.js';
import type { ActivityShare } from '../targets/activity-sampler.js';
import { closeEngineRun, describeEngine, openEngineRun, type EngineEvidence } from './engine-run.js';

export interface MemoryResult {
  readonly rows: number;
  readonly windows: number;
  readonly stagingOnlyIngestMs: number;
  readonly stagingOnlyIngestRowsPerSecond: number;
  /** From the first resolved POST to the last window's commit. */
  readonly applyMs: number;
  readonly applyRowsPerSecond: number;
  readonly peakRssAfterStagingBytes: number | undefined;
  readonly peakRssBytes: number | undefined;
  /** [seconds since first POST, RSS MiB], one sample per second. */
  readonly rssTimelineMiB: readonly (readonly [number, number])[];
  /** CPU while staging (resolved held back) and while applying the staged backlog. */
  readonly stagingCpu: CpuCost;
  readonly applyCpu: CpuCost;
  /** Sampled database activity while staging (the engine evidence's activity covers the apply). */
  readonly stagingActivity: readonly ActivityShare[];
  readonly retries503: number;
  readonly verifiedRows: number;
  readonly engine: EngineEvidence;
}

const MiB = 1024 * 1024;

export async function runMemory(ctx: BenchContext): Promise<MemoryResult> {
  const { options } = ctx;
  ctx.progress(`memory: generating a ${options.memoryRows}-row backlog`);
  // --memory-rows counts every staged message, markers included, so a 1M backlog stays within an
  // engine whose apply queue admits exactly 1M waiting rows (rounding to whole subtrees aside).
  const windowsEstimate = Math.ceil(((options.memoryRows / options.sourceRate) * 1000) / options.resolvedMs) + 1;
  const work = buildBacklog(ctx, options.memoryRows - windowsEstimate - 2 * options.tables, false);
  const { feed } = work;
  const run = await openEngineRun(ctx, 'memory');
  const timeline: [number, number][] = [];
  const t0 = performance.now();
  const sampler = setInterval(() => {
    const m = run.engine.memory();
    if (m) timeline.push([round((performance.now() - t0) / 1000), round(m.rssBytes / MiB)]);
  }, 1000);
  try {
    ctx.progress(`memory: staging ${feed.rows} rows (${feed.bodies.length} bodies) with resolved messages held back`);
    const sender = new Sender(run.client, options.connections, true);
    sender.add(feed.bodies, feed.windows);
    sender.close();
    await sender.bodiesDone();
    const { firstPostAt, lastAckAt } = sender.times;
    // Let the engine settle so a peak that follows the last 200 is counted as staging's.
    await sleep(1000);
    const peakAfterStaging = run.engine.memory()?.hwmBytes;
    const staged = await run.snapshot();
    const stagingActivity = await run.switchSampler();
    ctx.progress(`memory: staged in ${round((lastAckAt - firstPostAt) / 1000)} s; releasing ${feed.windows.length} resolved messages`);
    run.tracker.resetStallClock();
    const releasedAt = performance.now();
    sender.release();
    const lastMarker = feed.windows[feed.windows.length - 1]!.marker;
    const waitCommit = run.tracker.waitFor(lastMarker, options.stallSeconds * 1000, run.engine.isRunning, () => describeEngine(run));
    await Promise.race([sender.done(), waitCommit.then(() => sender.done())]);
    const committedAt = await waitCommit;
    const applied = await run.snapshot();
    clearInterval(sampler);
    ctx.progress('memory: backlog applied; verifying the target');
    const verified = await verifyTarget(run.db, work.model, ctx.codec, 'memory (1M backlog)');
    const engine = await closeEngineRun(ctx, run, feed.rows, applied, feed.windows[feed.windows.length - 1]!.resolvedSeconds);
    return {
      rows: feed.rows,
      windows: feed.windows.length,
      stagingOnlyIngestMs: Math.round(lastAckAt - firstPostAt),
      stagingOnlyIngestRowsPerSecond: rate(feed.rows, lastAckAt - firstPostAt),
      applyMs: Math.round(committedAt - releasedAt),
      applyRowsPerSecond: rate(feed.rows, committedAt - releasedAt),
      peakRssAfterStagingBytes: peakAfterStaging,
      peakRssBytes: engine.peakRssBytes,
      rssTimelineMiB: timeline,
      stagingCpu: run.cost(run.started, staged, feed.rows),
      stagingActivity,
      applyCpu: run.cost(staged, applied, feed.rows),
      retries503: run.client.stats.retries503,
      verifiedRows: verified.rowsChecked,
      engine,
    };
  } finally {
    clearInterval(sampler);
  }
}
