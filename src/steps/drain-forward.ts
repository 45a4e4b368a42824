/**
 * drain-forward: before the direction flips, every change the forward replicator (MOLT Replicator
 * pglogical / mylogical / oraclelogminer, writing into CockroachDB) received must be applied. The step
 * polls its Prometheus endpoint and calls it drained when, for every schema, apply_upserts_total +
 * apply_deletes_total has not moved for the quiet period (the runbook's rate() == 0 alert, computed from
 * successive scrapes). Live rates are shown while waiting; it gives up after forward.timeout. Without an
 * endpoint the user confirms from the logs; under --yes that needs --confirm-drained. An endpoint that
 * answers without any apply counters proves nothing (another service's metrics, a wrong path, or a
 * replicator that has applied nothing since it started): the same confirmation is needed then.
 */
import { AppError, ExitCode } from '../lib/errors.js';
import { parseDuration } from '../lib/config.js';
import { isoNow, poll, timeoutError } from './lib/common.js';
import { DrainTracker, type SchemaDrain } from './lib/drain.js';
import { formatMs } from './lib/durations.js';
import { appliedBySchema, scrape } from './lib/metrics.js';
import { asOutputs, DrainOutputs, outputsOf, StopForwardOutputs } from './lib/outputs.js';
import type { CheckResult, PlannedAction, Step, StepContext, VerifyResult } from './step.js';

export const CONFIRM_DRAINED_FLAG = '--confirm-drained';

const LOG_HINT =
  'With -v the forward replicator logs "upserted rows" for every applied batch; it is drained when no new such lines appear (PostgreSQL sources keep logging "progressed to LSN", MySQL "progressed to consistent point").';

function describe(status: readonly SchemaDrain[], quietMs: number): string {
  if (status.length === 0) return 'no apply counters yet (nothing applied)';
  return status.map((s) => `${s.schema}: ${s.rate.toFixed(1)} rows/s, quiet ${formatMs(s.quietMs)}/${formatMs(quietMs)}`).join('; ');
}

async function currentRows(ctx: StepContext, url: string): Promise<Map<string, number> | undefined> {
  try {
    return appliedBySchema((await scrape(ctx.services.http, url)).samples);
  } catch {
    return undefined;
  }
}

/** What to confirm when the drain cannot be measured: the question says what was found. */
async function confirmFromLogs(ctx: StepContext, question: string, actions: string[]): Promise<void> {
  if (!ctx.config.forward.confirmDrained) {
    const ok = await ctx.ui.confirm(question, { default: false, needsExplicitConsent: CONFIRM_DRAINED_FLAG });
    if (!ok) throw new AppError('DECLINED', 'Forward replication was not confirmed drained.', { exitCode: ExitCode.DECLINED, actions });
  } else {
    ctx.ui.info(`Drain confirmed with ${CONFIRM_DRAINED_FLAG}.`);
  }
  await ctx.record(asOutputs({ drainedAt: isoNow(ctx), method: 'confirmed' }));
}

export const drainForward: Step = {
  id: 'drain-forward',
  title: 'Wait for forward replication to drain',
  description:
    "Polls the forward replicator's metrics until, for every schema, no rows were upserted or deleted during the quiet period (the runbook's rate(apply_upserts_total) + rate(apply_deletes_total) == 0). Without a metrics URL, or when it exposes no apply counters at all, asks you to confirm the drain from its logs.",

  async check(ctx): Promise<CheckResult> {
    const rec = outputsOf(ctx, 'drain-forward', DrainOutputs);
    if (!rec) return { state: 'pending', detail: 'not drained yet' };
    if (outputsOf(ctx, 'stop-forward', StopForwardOutputs)) return { state: 'satisfied', detail: `drained at ${rec.drainedAt}; the forward replicator has been stopped since` };
    const url = ctx.config.forward.metricsUrl;
    if (rec.method === 'metrics' && url && rec.rows) {
      const now = await currentRows(ctx, url);
      if (now === undefined) return { state: 'satisfied', detail: `drained at ${rec.drainedAt}; its metrics no longer answer` };
      const moved = [...now].filter(([schema, v]) => v !== (rec.rows as Record<string, number>)[schema]);
      if (moved.length > 0) return { state: 'pending', detail: `rows were applied since the drain at ${rec.drainedAt} (${moved.map(([s]) => s).join(', ')})` };
    }
    return { state: 'satisfied', detail: `drained at ${rec.drainedAt} (${rec.method === 'metrics' ? 'proven by metrics' : 'confirmed from the logs'})` };
  },

  async apply(ctx): Promise<void> {
    const f = ctx.config.forward;
    if (!f.metricsUrl) {
      ctx.ui.info(`No forward replicator metrics URL (--forward-metrics-url) is configured. ${LOG_HINT}`);
      await confirmFromLogs(ctx, 'Have you confirmed from its logs that forward replication has drained?', [LOG_HINT, 'Or give --forward-metrics-url so molt-failback can measure it.']);
      return;
    }
    const quietMs = parseDuration(f.quietPeriod);
    const timeoutMs = parseDuration(f.timeout);
    const tracker = new DrainTracker(quietMs);
    let failures = 0;
    let lastError = '';
    const drained = await poll(ctx, { intervalMs: parseDuration(f.pollInterval), timeoutMs }, async (): Promise<Map<string, number> | 'no-counters' | undefined> => {
      let rows: Map<string, number>;
      try {
        rows = appliedBySchema((await scrape(ctx.services.http, f.metricsUrl as string)).samples);
        failures = 0;
      } catch (err) {
        lastError = (err as Error).message;
        if (++failures >= 3) {
          throw new AppError('FORWARD_UNREACHABLE', `The forward replicator's metrics stopped answering: ${lastError}`, {
            exitCode: ExitCode.UNREACHABLE,
            actions: [
              'If it is still running, check --forward-metrics-url.',
              `If it was already stopped, the drain cannot be measured any more: leave --forward-metrics-url out and confirm the drain from its logs (${CONFIRM_DRAINED_FLAG} under --yes).`,
            ],
          });
        }
        ctx.ui.progress(`scrape failed (${lastError}); retrying`);
        return undefined;
      }
      // No counter at all is not a quiet counter: nothing here shows what the forward replicator applied.
      if (rows.size === 0) return 'no-counters';
      tracker.add({ at: ctx.services.now(), rows });
      ctx.ui.progress(describe(tracker.status(), quietMs));
      return tracker.drained() ? rows : undefined;
    });
    if (drained === 'no-counters') {
      const url = f.metricsUrl;
      ctx.ui.warn(
        `${url} answers, but exposes no apply_upserts_total / apply_deletes_total series, so the drain cannot be measured: it may not be the forward replicator's endpoint (MOLT Replicator serves /_/varz on its --metricsAddr), or the replicator has applied nothing since it started. ${LOG_HINT}`,
      );
      await confirmFromLogs(ctx, `${url} shows no apply counters (wrong --forward-metrics-url?). Have you confirmed from the forward replicator's logs that it has drained?`, [
        `Check --forward-metrics-url: it must be the forward replicator's metrics endpoint (http://<host>:<--metricsAddr port>/_/varz), serving apply_upserts_total / apply_deletes_total.`,
        `If it is and nothing was applied since the replicator started, confirm the drain from its logs (${CONFIRM_DRAINED_FLAG} under --yes).`,
      ]);
      return;
    }
    if (!drained) {
      throw timeoutError('DRAIN_TIMEOUT', `Forward replication did not drain within ${f.timeout}: ${describe(tracker.status(), quietMs)}.`, [
        'Make sure the application no longer writes to the source database.',
        'Wait and run again, or raise --drain-timeout.',
      ]);
    }
    ctx.ui.info(`Forward replication is drained: ${describe(tracker.status(), quietMs)}.`);
    await ctx.record(asOutputs({ drainedAt: isoNow(ctx), method: 'metrics', rows: Object.fromEntries(drained), quietMs }));
  },

  async verify(ctx): Promise<VerifyResult> {
    const rec = outputsOf(ctx, 'drain-forward', DrainOutputs);
    return rec ? { ok: true, detail: `drained at ${rec.drainedAt} (${rec.method})` } : { ok: false, detail: 'the drain was not recorded' };
  },

  async plan(ctx): Promise<PlannedAction[]> {
    const f = ctx.config.forward;
    if (!f.metricsUrl) return [{ kind: 'prompt', target: 'user', text: `Confirm from the forward replicator's logs that it has drained (${CONFIRM_DRAINED_FLAG} under --yes)` }];
    return [
      { kind: 'http', target: f.metricsUrl, text: `GET ${f.metricsUrl} every ${f.pollInterval}` },
      { kind: 'wait', target: f.metricsUrl, text: `until apply_upserts_total + apply_deletes_total is unchanged for ${f.quietPeriod} in every schema (at most ${f.timeout})` },
    ];
  },
};
