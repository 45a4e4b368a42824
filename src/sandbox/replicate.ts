/**
 * The sandbox's live phase: the seeded workload writes on CockroachDB while the engine replicates it,
 * with a progress line from the engine's metrics once a second; then CockroachDB's clock is read and
 * the phase ends only when the engine has applied everything up to it. Knows nothing about how the
 * databases or the engine were started.
 */
import { clusterTimestamp, waitForApplied } from './catch-up.js';
import { FlowMeter, type FlowSample, type FlowSummary } from './flow.js';
import type { Model } from './model.js';
import type { Random } from './random.js';
import { renderFlow, type Printer } from './render.js';
import { runWorkload, type WorkloadStats } from './workload.js';

export interface ReplicateOptions {
  readonly crdbUrl: string;
  /** http://host:port of the engine's metrics listener (/_/varz, /_/diag). */
  readonly metricsBase: string;
  readonly model: Model;
  readonly rng: Random;
  readonly transactions: number;
  readonly rate: number;
  readonly out: Printer;
  readonly signal: AbortSignal;
  /** How long the engine may take to apply everything once the workload stopped. */
  readonly catchUpTimeoutMs?: number;
}

export interface Replicated {
  readonly stats: WorkloadStats;
  readonly flow: FlowSummary;
  /** cluster_logical_timestamp() read after the workload stopped. */
  readonly caughtUpTo: string;
  readonly workloadMs: number;
  readonly catchUpMs: number;
}

export async function writeAndCatchUp(o: ReplicateOptions): Promise<Replicated> {
  const meter = new FlowMeter(`${o.metricsBase}/_/varz`);
  await meter.start();
  let committed = 0;
  let last: FlowSample | undefined;
  let suffix = '';
  const show = () => o.out.status(`${renderFlow(last, { done: committed, total: o.transactions })}${suffix}`);
  const sampleEvery = (ms: number) =>
    setInterval(() => {
      void meter.sample().then((s) => {
        last = s ?? last;
        show();
      });
    }, ms);

  const started = Date.now();
  let timer = sampleEvery(1000);
  let stats: WorkloadStats;
  try {
    stats = await runWorkload({ url: o.crdbUrl, model: o.model, rng: o.rng, transactions: o.transactions, rate: o.rate, signal: o.signal, onCommit: (s) => (committed = s.transactions) });
  } finally {
    clearInterval(timer);
  }
  const workloadMs = Date.now() - started;

  // Every change the workload committed is stamped at or below this timestamp.
  const caughtUpTo = await clusterTimestamp(o.crdbUrl);
  const catchUpStarted = Date.now();
  suffix = ` | waiting for the engine to apply up to ${caughtUpTo}`;
  timer = sampleEvery(500);
  try {
    await waitForApplied({ metricsBase: o.metricsBase, target: caughtUpTo, timeoutMs: o.catchUpTimeoutMs ?? 120_000, signal: o.signal });
  } finally {
    clearInterval(timer);
  }
  const catchUpMs = Date.now() - catchUpStarted;
  last = (await meter.sample()) ?? last;
  suffix = ' | caught up';
  show();
  o.out.settle();
  return { stats, flow: meter.summary(), caughtUpTo, workloadMs, catchUpMs };
}
