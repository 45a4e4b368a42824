/**
 * monitor-changefeed: proves that data flows, because a "running" changefeed can deliver nothing (a
 * wrong host, path or certificate only shows up as a transient error in running_status). Success needs
 * both sides: SHOW CHANGEFEED JOB says running with a resolved timestamp, AND the engine's own metrics
 * show webhook requests answered 200 (http_status_codes_total rising) and target_applied_timestamp_seconds
 * advancing, all within monitor.timeout. Failures are mapped to the runbook's troubleshooting. When
 * resolved timestamps go backwards (re-application after a restart from an old cursor), it offers a
 * targeted clean-up of the failback tables' staged mutations, after confirmation; never a DROP.
 */
import { parseDuration } from '../lib/config.js';
import { compareHlc, parseHlc } from '../lib/hlc.js';
import { redactConn } from '../lib/conn.js';
import { AppError, ExitCode } from '../lib/errors.js';
import { stagingConnOf } from './config.js';
import { isoNow, poll, sinkLocation, sourceTables, targetOf, timeoutError } from './lib/common.js';
import { formatMs } from './lib/durations.js';
import { metricsBase } from './lib/engine.js';
import { cleanStaging, inspectStaging } from './lib/engine-api.js';
import { isActiveStatus, readChangefeedJob, type ChangefeedJob } from './lib/jobs.js';
import { scrapeEngine, type EngineSnapshot } from './lib/metrics.js';
import { asOutputs, ChangefeedOutputs, EngineOutputs, MonitorOutputs, outputsOf, requireOutputs } from './lib/outputs.js';
import { redactSinkText, sinkBase } from './lib/sink-uri.js';
import { schemaLabel } from './lib/target.js';
import { stopEngine } from './observe.js';
import { diagnoseChangefeed, type Diagnosis } from './lib/troubleshoot.js';
import type { CheckResult, PlannedAction, Step, StepContext, VerifyResult } from './step.js';

export const CLEAN_STAGING_FLAG = '--clean-staging';

const ERRORISH = /error|refused|timeout|exceeded|bad request|unauthorized|not found/i;

function metricsUrl(ctx: StepContext): string {
  return outputsOf(ctx, 'start-replicator', EngineOutputs)?.metricsUrl ?? `${metricsBase(ctx.config)}/_/varz`;
}

/** The engine's numbers now; undefined while it does not answer. */
async function snapshot(ctx: StepContext): Promise<EngineSnapshot | undefined> {
  try {
    return await scrapeEngine(ctx.services.http, metricsUrl(ctx), () => ctx.services.now());
  } catch {
    return undefined;
  }
}

/** Newest applied resolved timestamp (unix seconds) over the schemas the engine reports. */
const appliedMax = (s: EngineSnapshot | undefined): number => (s ? Math.max(0, ...Object.values(s.applied)) : 0);

function endedError(job: ChangefeedJob, d: Diagnosis | undefined): AppError {
  return new AppError('CHANGEFEED_ENDED', `Changefeed ${job.jobId} is ${job.status}${d ? `: ${d.summary}` : job.error ? `: ${redactSinkText(job.error)}` : ''}.`, {
    actions: [...(d?.actions ?? []), 'Run molt-failback again: create-changefeed offers a replacement from its high-water mark.'],
  });
}

const jobLine = (j: ChangefeedJob): string => `job ${j.status}${j.runningStatus ? ` (${redactSinkText(j.runningStatus)})` : ''}`;

export const monitorChangefeed: Step = {
  id: 'monitor-changefeed',
  title: 'Prove that changes reach the target',
  description:
    "Waits until the changefeed is running with a resolved timestamp AND the engine's metrics show webhook requests answered 200 and the applied timestamp advancing; maps failures (connection refused, unknown schema, GC threshold, re-application) to the runbook's fixes.",

  async check(ctx): Promise<CheckResult> {
    const feed = requireOutputs(ctx, 'create-changefeed', ChangefeedOutputs, 'The changefeed');
    const job = await readChangefeedJob(await ctx.services.crdb(), feed.jobId);
    if (!job || !isActiveStatus(job.status)) {
      const d = job?.error ? await diagnoseChangefeed(ctx, job.error) : undefined;
      return { state: 'blocked', detail: job ? `changefeed ${job.jobId} is ${job.status}${d ? `: ${d.summary}` : ''}` : `changefeed ${feed.jobId} no longer exists`, actions: [...(d?.actions ?? []), 'Run molt-failback again so create-changefeed can replace it.'] };
    }
    const proof = outputsOf(ctx, 'monitor-changefeed', MonitorOutputs);
    if (proof && proof.jobId === job.jobId && job.status === 'running') {
      const s = await snapshot(ctx);
      if (s && s.http200 > proof.http200 && appliedMax(s) > proof.appliedSeconds) {
        return { state: 'satisfied', detail: `still flowing since ${proof.provenAt}: ${s.http200 - proof.http200} more webhook requests answered 200, applied timestamp ${formatMs((appliedMax(s) - proof.appliedSeconds) * 1000)} further` };
      }
    }
    return { state: 'pending', detail: `changefeed ${job.jobId}: ${jobLine(job)}; flow not proven yet` };
  },

  async apply(ctx): Promise<void> {
    const feed = requireOutputs(ctx, 'create-changefeed', ChangefeedOutputs, 'The changefeed');
    const session = await ctx.services.crdb();
    const timeoutMs = parseDuration(ctx.config.monitor.timeout);
    let base = await snapshot(ctx);
    const last: { job?: ChangefeedJob; snap?: EngineSnapshot; diag?: Diagnosis } = {};
    let offeredCleanup = false;
    let prevApplied = appliedMax(base);
    // CockroachDB advances a job's high-water mark only after its sink accepted the rows and the resolved
    // timestamp: a rising mark ties the engine's activity to this job, not to some other feed.
    let firstHighWater: string | undefined;

    const stale = await staleStaging(ctx, feed.cursor);
    if (stale) await offerCleanup(ctx, stale);

    const proven = await poll(ctx, { intervalMs: 1000, timeoutMs }, async (elapsed) => {
      const job = await readChangefeedJob(session, feed.jobId);
      if (!job) throw new AppError('CHANGEFEED_GONE', `Changefeed ${feed.jobId} no longer exists.`, { actions: ['Run molt-failback again to create a new one.'] });
      last.job = job;
      if (!isActiveStatus(job.status)) throw endedError(job, job.error ? await diagnoseChangefeed(ctx, job.error) : undefined);
      if (job.status === 'paused' || job.status === 'pause-requested') {
        throw new AppError('CHANGEFEED_PAUSED', `Changefeed ${job.jobId} is ${job.status}: nothing is delivered while it is paused.`, { actions: [`Resume it on CockroachDB: RESUME JOB ${job.jobId};`] });
      }
      last.diag = job.runningStatus && ERRORISH.test(job.runningStatus) ? await diagnoseChangefeed(ctx, job.runningStatus) : undefined;
      const snap = await snapshot(ctx);
      last.snap = snap;
      base ??= snap;
      if (snap && base) {
        const applied = appliedMax(snap);
        const backwards = snap.goingBackwards > base.goingBackwards || (prevApplied > 0 && applied + 0.001 < prevApplied);
        prevApplied = Math.max(prevApplied, applied);
        if (backwards && !offeredCleanup) {
          offeredCleanup = true;
          await offerCleanup(ctx, 'Resolved timestamps went backwards: the changefeed restarted from an older point and mutations are being applied again.');
          base = await snapshot(ctx);
          return undefined;
        }
      }
      const delivered = snap && base ? snap.http200 - base.http200 : 0;
      const advanced = snap && base ? appliedMax(snap) - appliedMax(base) : 0;
      const resolved = job.highWater !== undefined;
      firstHighWater ??= job.highWater;
      const hwAdvanced = resolved && firstHighWater !== undefined && compareHlc(parseHlc(job.highWater as string), parseHlc(firstHighWater)) > 0;
      ctx.ui.progress(
        [
          `${formatMs(elapsed)}: ${jobLine(job)}`,
          resolved ? `resolved ${job.highWater}${hwAdvanced ? ' (advancing)' : ''}` : 'no resolved timestamp yet',
          snap ? `webhook 200s +${delivered}${snap.httpErrors > (base?.httpErrors ?? 0) ? `, errors +${snap.httpErrors - (base?.httpErrors ?? 0)}` : ''}, applied +${advanced.toFixed(1)}s${snap.stagedUnapplied !== undefined ? `, staged unapplied ${snap.stagedUnapplied}` : ''}` : `engine metrics at ${metricsUrl(ctx)} do not answer`,
        ].join('; '),
      );
      if (job.status === 'running' && hwAdvanced && !last.diag && snap && delivered > 0 && advanced > 0) return { job, snap };
      return undefined;
    });

    if (!proven) {
      const { job, snap, diag } = last;
      if (diag) throw new AppError('CHANGEFEED_NOT_DELIVERING', `No proof of delivery within ${ctx.config.monitor.timeout}: ${diag.summary}`, { exitCode: ExitCode.TIMEOUT, actions: diag.actions });
      const reasons: string[] = [];
      const actions: string[] = [];
      if (!snap) {
        reasons.push(`the engine's metrics (${metricsUrl(ctx)}) do not answer`);
        actions.push('Check the engine: molt-failback step start-replicator, and its log in the state folder.');
      } else if (snap.http200 - (base?.http200 ?? 0) <= 0) {
        reasons.push('no webhook request reached the engine');
        actions.push(`CockroachDB's nodes must reach ${sinkBase(sinkLocation(ctx.config)).replace(/^webhook-/, '')}: check --webhook-host, the port and firewalls; SHOW CHANGEFEED JOB ${feed.jobId} shows the sink error once it retries.`);
      } else {
        reasons.push('webhook requests arrive but the applied timestamp does not advance');
        actions.push('Read the engine log for apply errors on the target (apply_errors_total in its metrics), e.g. missing privileges or constraint violations.');
      }
      if (job && job.highWater === undefined) reasons.push('the job has no resolved timestamp yet');
      else if (job && job.highWater === firstHighWater) reasons.push(`its resolved timestamp did not advance (still ${job.highWater})`);
      throw timeoutError('MONITOR_TIMEOUT', `Changefeed ${feed.jobId} is ${job?.status ?? 'unknown'}, but ${reasons.join(' and ')} within ${ctx.config.monitor.timeout}.`, [...actions, 'Raise --monitor-timeout if the cluster is slow to emit its first resolved timestamp.']);
    }
    const { job, snap } = proven;
    await ctx.record(asOutputs({ jobId: job.jobId, provenAt: isoNow(ctx), http200: snap.http200, appliedSeconds: appliedMax(snap), highWater: job.highWater ?? '', status: job.status }));
    ctx.ui.info(`Changes flow: changefeed ${job.jobId} is running (resolved ${job.highWater}); the engine answers webhook requests with 200 and its applied timestamp advances.`);
  },

  async verify(ctx): Promise<VerifyResult> {
    const proof = outputsOf(ctx, 'monitor-changefeed', MonitorOutputs);
    const feed = outputsOf(ctx, 'create-changefeed', ChangefeedOutputs);
    if (!proof || !feed || proof.jobId !== feed.jobId) return { ok: false, detail: 'delivery has not been proven for the current changefeed' };
    const job = await readChangefeedJob(await ctx.services.crdb(), feed.jobId);
    if (!job || job.status !== 'running') return { ok: false, detail: `changefeed ${feed.jobId} is ${job?.status ?? 'gone'}` };
    return { ok: true, detail: `changefeed ${job.jobId} running; delivery proven at ${proof.provenAt}` };
  },

  async plan(ctx): Promise<PlannedAction[]> {
    const target = `CockroachDB ${redactConn(ctx.config.crdb.conn)}`;
    const feed = outputsOf(ctx, 'create-changefeed', ChangefeedOutputs);
    return [
      { kind: 'sql', target, text: `SHOW CHANGEFEED JOB ${feed?.jobId ?? '<job id>'} every second` },
      { kind: 'http', target: metricsUrl(ctx), text: `GET ${metricsUrl(ctx)} every second (http_status_codes_total, target_applied_timestamp_seconds)` },
      { kind: 'wait', target: 'changefeed and engine', text: `until running with a resolved timestamp, 200s rising and the applied timestamp advancing (at most ${ctx.config.monitor.timeout})` },
      {
        kind: 'sql',
        target: `staging ${redactConn(stagingConnOf(ctx.config))}`,
        text: `delete the failback tables' staged mutations in ${ctx.config.staging.schema} (never a DROP)`,
        when: `only if resolved timestamps go backwards and you confirm (${CLEAN_STAGING_FLAG} under --yes)`,
      },
    ];
  },
};

/**
 * Stale or re-applied mutations: offer the targeted staging clean-up the runbook describes (its
 * DELETE FROM <staging>.<table>, never a DROP of the staging database), after consent. The engine
 * holds an apply lease on the schema while it runs, so it is stopped first; the next run restarts it
 * (start-replicator finds it gone) and proves delivery again.
 */
async function offerCleanup(ctx: StepContext, why: string): Promise<void> {
  const { schema } = targetOf(ctx.config);
  const tables = (await sourceTables(ctx)).map((t) => t.name);
  ctx.ui.warn(`${why} Deleting the staged mutations of ${tables.join(', ')} in ${ctx.config.staging.schema} stops the re-application; checkpoints and other tables are kept, and nothing is dropped.`);
  const consent = ctx.config.monitor.cleanStaging === true || (await ctx.ui.confirm('Stop the engine and delete those staged mutations now?', { default: false, needsExplicitConsent: CLEAN_STAGING_FLAG }));
  if (!consent) {
    ctx.ui.info('Staging left as it is.');
    return;
  }
  const engine = outputsOf(ctx, 'start-replicator', EngineOutputs);
  if (engine) {
    const stopped = await stopEngine(ctx.services, engine.pid, 40_000, ctx.signal);
    if (stopped.outcome === 'still-running') {
      throw new AppError('ENGINE_STILL_RUNNING', `The engine (pid ${engine.pid}) did not stop within 40s; staging was not cleaned.`, { actions: [`Stop it (kill -TERM ${engine.pid}), then run again.`] });
    }
  }
  const conn = stagingConnOf(ctx.config);
  const result = await cleanStaging(conn, ctx.config.staging.schema, { targetSchema: schema, tables });
  throw new AppError('STAGING_CLEANED', `Deleted ${result.mutations} staged mutation(s) of ${tables.join(', ')} from ${ctx.config.staging.schema}; the engine was stopped to do it.`, {
    exitCode: ExitCode.FAILED,
    actions: ['Run molt-failback run again: start-replicator restarts the engine and monitor-changefeed proves delivery again.'],
  });
}

/** Staged mutations older than the changefeed's cursor were left by an earlier stream (facts §6, replicator #718). */
async function staleStaging(ctx: StepContext, cursor: string): Promise<string | undefined> {
  const { schema } = targetOf(ctx.config);
  let report: Awaited<ReturnType<typeof inspectStaging>>;
  try {
    report = await inspectStaging(stagingConnOf(ctx.config), ctx.config.staging.schema);
  } catch {
    return undefined; // Staging unreadable from here: the engine's own health check reports it.
  }
  const mine = report.targets.find((t) => t.targetSchema === schema.key);
  if (!mine?.oldestPending || mine.pendingTotal === 0) return undefined;
  if (compareHlc(parseHlc(mine.oldestPending), parseHlc(cursor)) >= 0) return undefined;
  return `${mine.pendingTotal} staged mutation(s) for ${schemaLabel(schema)} are older than the changefeed's cursor ${cursor} (oldest ${mine.oldestPending}): they come from an earlier stream and would be re-applied.`;
}
