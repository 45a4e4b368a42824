/**
 * stop-forward: the forward replicator must be stopped before changes flow the other way, or the two
 * directions would feed each other. With a pid (--forward-pid or --forward-pid-file) the step sends
 * SIGTERM (MOLT Replicator then drains for up to its --gracePeriod and exits 0), waits, and after a
 * grace period says so and asks before ever sending SIGKILL. Without a pid it asks the user to stop it
 * and confirm (--confirm-forward-stopped under --yes). Either way it verifies the process is gone and
 * its metrics endpoint no longer answers.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AppError, ExitCode } from '../lib/errors.js';
import { parseDuration } from '../lib/config.js';
import { isoNow, poll, timeoutError } from './lib/common.js';
import { formatMs } from './lib/durations.js';
import { readPidFile } from './lib/files.js';
import { asOutputs, outputsOf, StopForwardOutputs } from './lib/outputs.js';
import type { CheckResult, PlannedAction, Step, StepContext, VerifyResult } from './step.js';

export const CONFIRM_STOPPED_FLAG = '--confirm-forward-stopped';
/** MOLT Replicator's default --gracePeriod is 30s; allow a little more before saying anything. */
export const FORWARD_GRACE_MS = 35_000;

function forwardPid(ctx: StepContext): { pid?: number; source?: string } {
  const f = ctx.config.forward;
  if (f.pid !== undefined) return { pid: f.pid, source: '--forward-pid' };
  if (f.pidFile !== undefined) {
    const path = resolve(f.pidFile);
    return { pid: readPidFile(path), source: `pid file ${path}` };
  }
  return {};
}

/** What the process is, for the message before signalling it (Linux /proc; empty elsewhere). */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).slice(0, 3).join(' ');
  } catch {
    return '';
  }
}

async function metricsAnswer(ctx: StepContext): Promise<boolean> {
  const url = ctx.config.forward.metricsUrl;
  if (!url) return false;
  try {
    await ctx.services.http.get(url, { timeoutMs: 2000 });
    return true;
  } catch {
    return false;
  }
}

async function state(ctx: StepContext): Promise<{ alive: boolean; pid?: number; source?: string; metrics: boolean }> {
  const { pid, source } = forwardPid(ctx);
  const alive = pid !== undefined && ctx.services.processes.isAlive(pid);
  return { alive, pid, source, metrics: await metricsAnswer(ctx) };
}

/** Waits until the metrics endpoint stops answering (the process may close its listener last). */
async function waitMetricsGone(ctx: StepContext, timeoutMs: number): Promise<boolean> {
  if (!ctx.config.forward.metricsUrl) return true;
  return (await poll(ctx, { intervalMs: 500, timeoutMs }, async () => ((await metricsAnswer(ctx)) ? undefined : true))) === true;
}

export const stopForward: Step = {
  id: 'stop-forward',
  title: 'Stop the forward replicator',
  description:
    'Sends SIGTERM to the forward replicator (--forward-pid or --forward-pid-file) and waits for it to exit, or asks you to stop it; then proves it is gone and its metrics endpoint no longer answers. Never sends SIGKILL without asking.',

  async check(ctx): Promise<CheckResult> {
    const s = await state(ctx);
    if (s.alive) return { state: 'pending', detail: `the forward replicator (pid ${s.pid}) is running` };
    if (s.metrics) {
      if (s.pid !== undefined) {
        return {
          state: 'blocked',
          detail: `pid ${s.pid} (${s.source}) is gone, but ${ctx.config.forward.metricsUrl} still answers: another forward replicator is running`,
          actions: ['Find the process serving that metrics endpoint and stop it (kill -TERM <pid>), or fix --forward-pid / --forward-pid-file.'],
        };
      }
      return { state: 'pending', detail: `${ctx.config.forward.metricsUrl} still answers: the forward replicator is running` };
    }
    const rec = outputsOf(ctx, 'stop-forward', StopForwardOutputs);
    if (s.pid !== undefined || ctx.config.forward.metricsUrl) return { state: 'satisfied', detail: s.pid !== undefined ? `pid ${s.pid} is not running` : 'its metrics endpoint no longer answers' };
    return rec ? { state: 'satisfied', detail: `confirmed stopped at ${rec.stoppedAt ?? rec.signalledAt}` } : { state: 'pending', detail: 'no pid or metrics URL to check: needs your confirmation' };
  },

  async apply(ctx): Promise<void> {
    const s = await state(ctx);
    if (s.pid !== undefined && !s.alive && s.metrics) {
      throw new AppError('FORWARD_STILL_RUNNING', `pid ${s.pid} (${s.source}) is gone, but ${ctx.config.forward.metricsUrl} still answers: another forward replicator is running.`, {
        actions: ['Find the process serving that metrics endpoint and stop it, or fix --forward-pid / --forward-pid-file.'],
      });
    }
    if (s.pid === undefined || !s.alive) {
      if (s.pid === undefined && !s.metrics && ctx.config.forward.metricsUrl) {
        await ctx.record(asOutputs({ method: 'already-stopped', stoppedAt: isoNow(ctx) }));
        return;
      }
      if (s.pid !== undefined && !s.metrics) {
        await ctx.record(asOutputs({ method: 'already-stopped', pid: s.pid, stoppedAt: isoNow(ctx) }));
        return;
      }
      ctx.ui.info('No forward replicator pid is known (--forward-pid / --forward-pid-file). Stop it yourself: press Ctrl-C in its terminal or send it SIGTERM; it exits with code 0 once it has shut down.');
      if (!ctx.config.forward.confirmStopped) {
        const ok = await ctx.ui.confirm('Has the forward replicator exited?', { default: false, needsExplicitConsent: CONFIRM_STOPPED_FLAG });
        if (!ok) throw new AppError('DECLINED', 'The forward replicator was not confirmed stopped.', { exitCode: ExitCode.DECLINED, actions: ['Stop it, then run again.'] });
      }
      if (!(await waitMetricsGone(ctx, 10_000))) {
        throw new AppError('FORWARD_STILL_RUNNING', `${ctx.config.forward.metricsUrl} still answers: the forward replicator is still running.`, { actions: ['Stop it (SIGTERM), wait for it to exit, then run again.'] });
      }
      await ctx.record(asOutputs({ method: 'confirmed', stoppedAt: isoNow(ctx) }));
      return;
    }
    const pid = s.pid;
    const what = commandLine(pid);
    ctx.ui.info(`Sending SIGTERM to the forward replicator, pid ${pid}${what ? ` (${what})` : ''}.`);
    ctx.services.processes.signal(pid, 'SIGTERM');
    await ctx.record(asOutputs({ method: 'signal', pid, signalledAt: isoNow(ctx) }));
    // forward.timeout bounds the whole wait; the warning comes after MOLT's grace period (or half the timeout if shorter).
    const timeoutMs = parseDuration(ctx.config.forward.timeout);
    const graceMs = Math.min(FORWARD_GRACE_MS, timeoutMs / 2);
    let asked = false;
    const gone = await poll(ctx, { intervalMs: 250, timeoutMs }, async (elapsed) => {
      if (!ctx.services.processes.isAlive(pid)) return true;
      ctx.ui.progress(`waiting for pid ${pid} to exit (${formatMs(elapsed)})`);
      if (elapsed >= graceMs && !asked) {
        asked = true;
        ctx.ui.warn(`pid ${pid} is still running ${formatMs(elapsed)} after SIGTERM. It may still be flushing to CockroachDB; killing it could lose that work.`);
        // Only a person at a terminal may decide to kill it; --yes never implies SIGKILL.
        const canAsk = ctx.options.interactive && !ctx.options.yes;
        const kill = canAsk ? await ctx.ui.confirm(`Send SIGKILL to pid ${pid}?`, { default: false }) : false;
        if (!canAsk) ctx.ui.info(`Not sending SIGKILL without an interactive answer; waiting up to ${formatMs(timeoutMs)} in all.`);
        if (kill) ctx.services.processes.signal(pid, 'SIGKILL');
      }
      return undefined;
    });
    if (!gone) {
      throw timeoutError('FORWARD_STOP_TIMEOUT', `The forward replicator (pid ${pid}) did not exit within ${formatMs(timeoutMs)} of SIGTERM.`, [
        `Look at its logs; if it is stuck, stop it with kill -KILL ${pid}, then run again.`,
      ]);
    }
    if (!(await waitMetricsGone(ctx, 10_000))) {
      throw new AppError('FORWARD_STILL_RUNNING', `pid ${pid} exited, but ${ctx.config.forward.metricsUrl} still answers: another forward replicator is running.`, {
        actions: ['Stop the process serving that endpoint, then run again.'],
      });
    }
    ctx.ui.info(`The forward replicator (pid ${pid}) has exited.`);
    await ctx.record(asOutputs({ stoppedAt: isoNow(ctx) }));
  },

  async verify(ctx): Promise<VerifyResult> {
    const s = await state(ctx);
    if (s.alive) return { ok: false, detail: `pid ${s.pid} is still running` };
    if (s.metrics) return { ok: false, detail: `${ctx.config.forward.metricsUrl} still answers` };
    return { ok: true, detail: s.pid !== undefined ? `pid ${s.pid} is gone${ctx.config.forward.metricsUrl ? ' and its metrics endpoint is closed' : ''}` : ctx.config.forward.metricsUrl ? 'its metrics endpoint is closed' : 'confirmed stopped' };
  },

  async plan(ctx): Promise<PlannedAction[]> {
    const { pid, source } = forwardPid(ctx);
    const url = ctx.config.forward.metricsUrl;
    const actions: PlannedAction[] = [];
    if (pid !== undefined || source) {
      actions.push({ kind: 'process', target: `pid ${pid ?? '?'} (${source})`, text: 'kill -TERM', when: 'if it is running' });
      actions.push({ kind: 'wait', target: `pid ${pid ?? '?'}`, text: `until it exits; after ${formatMs(FORWARD_GRACE_MS)} ask before any SIGKILL` });
    } else {
      actions.push({ kind: 'prompt', target: 'user', text: `Stop the forward replicator yourself and confirm (${CONFIRM_STOPPED_FLAG} under --yes)` });
    }
    if (url) actions.push({ kind: 'http', target: url, text: `GET ${url} until it no longer answers` });
    return actions;
  },
};
