/**
 * One engine phase's scaffolding: fresh staging and target databases, the engine process, the
 * webhook client and the commit tracker; and at the end, the evidence (memory, CPU, metrics,
 * PostgreSQL statistics, profile) gathered before everything is torn down again.
 */
import { existsSync } from 'node:fs';
import { defer } from '../lib/cleanup.js';
import { sleep } from '../lib/stats.js';
import { CommitTracker } from '../engine/commit-tracker.js';
import { engineSeries, scrape, sum } from '../engine/metrics.js';
import { startEngine, type EngineProcess } from '../engine/process.js';
import { WebhookClient } from '../engine/webhook-client.js';
import { summariseProfile, type ProfileSummary } from '../report/profile.js';
import { createPgDatabase, dropPgDatabase, pgUrlFor } from '../targets/pg-admin.js';
import {
  databaseStats,
  indexStats,
  tableStats,
  topStatements,
  type DatabaseStats,
  type IndexStats,
  type StatementStats,
  type TableStats,
} from '../targets/pgstats.js';
import type { TargetDb } from '../targets/target.js';
import { startActivitySampler, type ActivitySampler, type ActivityShare } from '../targets/activity-sampler.js';
import type { BenchContext } from './context.js';
import { cpuCost, cpuSnapshot, type CpuCost, type CpuSnapshot } from './cpu-account.js';

export interface EngineRun {
  readonly label: string;
  readonly db: TargetDb;
  readonly stagingName: string;
  readonly engine: EngineProcess;
  readonly client: WebhookClient;
  readonly tracker: CommitTracker;
  /** CPU readings when the engine became ready (start-up is not part of any figure). */
  readonly started: CpuSnapshot;
  /** Takes a CPU reading now (for phases that account for several stretches). */
  snapshot(): Promise<CpuSnapshot>;
  /** Ends the current pg_stat_activity sampling and starts a new one (to split a phase in two). */
  switchSampler(): Promise<ActivityShare[]>;
  /** Ends the sampling; stopping twice returns the same result. */
  stopSampler(): Promise<ActivityShare[]>;
  /** CPU cost between two readings for `rows` rows. */
  cost(from: CpuSnapshot, to: CpuSnapshot, rows: number): CpuCost;
  readonly dropAll: () => Promise<void>;
}

export interface EngineEvidence {
  readonly engineArgs: readonly string[];
  readonly exit: { code: number | string; graceful: boolean };
  readonly peakRssBytes: number | undefined;
  /** From the engine being ready to the end of the phase. */
  readonly cpu: CpuCost;
  readonly commitObservation: string;
  readonly metrics: Record<string, number>;
  readonly appliedByMetrics: number | undefined;
  readonly http503: number | undefined;
  /** The engine's target_applied_timestamp_seconds at the end, and the last resolved timestamp sent. */
  readonly appliedTimestampSeconds: number | undefined;
  readonly expectedAppliedSeconds: number;
  readonly pg: {
    readonly staging?: DatabaseStats;
    readonly target?: DatabaseStats;
    readonly stagingTables?: readonly TableStats[];
    readonly stagingIndexes?: readonly IndexStats[];
    readonly statements?: readonly StatementStats[];
    /** Sampled pg_stat_activity: which engine statements were executing, by share of samples. */
    readonly activity?: readonly ActivityShare[];
  };
  /** Samples from the engine being ready to the end of the phase (start-up left out). */
  readonly profile?: ProfileSummary;
  readonly engineLog: string;
}

export async function openEngineRun(ctx: BenchContext, label: string): Promise<EngineRun> {
  const { options, target } = ctx;
  const targetName = `${ctx.dbPrefix}_${label}`;
  const stagingName = `${ctx.dbPrefix}_${label}_stg`;
  // Undo first, create second: a failure half-way through still drops what exists.
  const drops = options.keep
    ? []
    : [
        defer(`drop ${stagingName}`, () => dropPgDatabase(options.pgUrl, stagingName)),
        defer(`drop ${targetName}`, () => target.dropDatabase(targetName)),
      ];
  const dropAll = async () => {
    for (const d of drops.reverse()) await d();
  };
  await createPgDatabase(options.pgUrl, stagingName);
  const db = await target.createDatabase(targetName, options.tables);
  ctx.progress(`${label}: databases ${targetName} (target) and ${stagingName} (staging) created; starting the engine`);
  const engine = await startEngine({
    repoRoot: ctx.repoRoot,
    entry: ctx.engineEntry,
    label,
    targetUrl: db.url,
    stagingUrl: pgUrlFor(options.pgUrl, stagingName),
    stagingSchema: `${stagingName}._replicator`,
    extraArgs: ctx.engineArgs,
    logDir: ctx.logDir,
    profileDir: ctx.profileDir,
  });
  const client = new WebhookClient(engine.webhookOrigin, db.webhookPath, options.connections, options.stallSeconds * 1000);
  const tracker = await CommitTracker.start(db, options.pollMs);
  const targetPg = target.kind === 'postgres' ? db.name : undefined;
  const pgNames = [stagingName, ...(targetPg ? [targetPg] : [])];
  const snapshot = () => cpuSnapshot(options.pgUrl, engine.pid, pgNames);
  let sampler: ActivitySampler = await startActivitySampler(options.pgUrl, pgNames);
  defer(`stop pg_stat_activity sampling for ${label}`, async () => void (await sampler.stop()));
  return {
    label,
    db,
    stagingName,
    engine,
    client,
    tracker,
    started: await snapshot(),
    snapshot,
    switchSampler: async () => {
      const shares = await sampler.stop();
      sampler = await startActivitySampler(options.pgUrl, pgNames);
      return shares;
    },
    stopSampler: () => sampler.stop(),
    cost: (from, to, rows) => cpuCost(from, to, rows, stagingName, targetPg),
    dropAll,
  };
}

/** A few lines about the engine's state for error messages. */
export async function describeEngine(run: EngineRun): Promise<string> {
  const metrics = await scrape(run.engine.metricsOrigin);
  const pick = metrics
    ? [...metrics.entries()].filter(([k]) => /apply_|staged|unapplied|timestamp_seconds|http_status/.test(k)).map(([k, v]) => `  ${k} ${v}`)
    : ['  (metrics unavailable)'];
  return `Engine metrics:\n${pick.join('\n')}\nEngine log (${run.engine.logPath}) ends with:\n${run.engine.logTail(15)}`;
}

/**
 * Gathers the evidence for `rows` rows, stops the engine and drops the databases (unless --keep).
 * `ended` is the CPU reading taken when the measured work finished (before verification);
 * `expectedAppliedSeconds` the wall time of the last resolved timestamp, to cross-check the engine's metric.
 */
export async function closeEngineRun(
  ctx: BenchContext,
  run: EngineRun,
  rows: number,
  ended: CpuSnapshot,
  expectedAppliedSeconds: number,
): Promise<EngineEvidence> {
  const { options } = ctx;
  const activity = await run.stopSampler();
  const metrics = await scrape(run.engine.metricsOrigin);
  const peakRssBytes = run.engine.memory()?.hwmBytes;
  await run.tracker.close();
  await run.client.close();
  const exit = await run.engine.stop();
  // Backends publish their statistics as they exit; give them a moment after the engine closed its pools.
  await sleep(500);
  const pgNames = [run.stagingName, ...(ctx.target.kind === 'postgres' ? [run.db.name] : [])];
  const pg = {
    staging: await databaseStats(options.pgUrl, run.stagingName),
    target: ctx.target.kind === 'postgres' ? await databaseStats(options.pgUrl, run.db.name) : undefined,
    stagingTables: await tableStats(options.pgUrl, run.stagingName),
    stagingIndexes: await indexStats(options.pgUrl, run.stagingName),
    statements: ctx.statementStats ? await topStatements(options.pgUrl, run.stagingName, pgNames) : undefined,
    activity,
  };
  const profilePath = run.engine.profilePath;
  const profile =
    profilePath && existsSync(profilePath) ? summariseProfile(profilePath, 15, { fromUs: run.started.monoUs, toUs: ended.monoUs }) : undefined;
  if (profilePath && !profile) ctx.progress(`${run.label}: no profile was written (did the engine exit cleanly?)`);
  await run.dropAll();
  return {
    engineArgs: run.engine.args,
    exit,
    peakRssBytes,
    cpu: run.cost(run.started, ended, rows),
    commitObservation: run.tracker.method,
    metrics: metrics ? engineSeries(metrics) : {},
    appliedByMetrics: metrics ? (sum(metrics, 'apply_upserts_total') ?? 0) + (sum(metrics, 'apply_deletes_total') ?? 0) : undefined,
    http503: metrics ? (sum(metrics, 'http_status_codes_total', 'code="503"') ?? 0) : undefined,
    appliedTimestampSeconds: metrics ? sum(metrics, 'target_applied_timestamp_seconds') : undefined,
    expectedAppliedSeconds,
    pg,
    profile,
    engineLog: run.engine.logPath,
  };
}
