/**
 * stop-forward: the forward replicator must be stopped before changes flow the other way, or the two
 * directions would feed each other. With a pid (--forward-pid or --forward-pid-file) the step sends
 * SIGTERM (MOLT Replicator then drains for up to its --gracePeriod and exits 0), waits, and after a
 * grace period says so and asks before ever sending SIGKILL. It signals only a process it can identify
 * as the forward replicator (lib/forward-identity.ts: a `replicator` executable, or the process listening
 * on the forward metrics port), because a stale pid file or an old --forward-pid may now name an
 * unrelated process; and once a stop is recorded it never signals again: a live pid is reported, not
 * killed. Without a pid it asks the user to stop it and confirm (--confirm-forward-stopped under
 * --yes). Either way it verifies the process is gone and its metrics endpoint no longer answers.
 */
import { resolve } from 'node:path';
import { AppError, ExitCode } from '../lib/errors.js';
import { parseDuration } from '../lib/config.js';
import { isoNow, poll, timeoutError } from './lib/common.js';
import { formatMs } from './lib/durations.js';
import { readPidFile } from './lib/files.js';
import { identifyForward, processStartTicks, type ForwardIdentity } from './lib/forward-identity.js';
import { asOutputs, EngineOutputs, outputsOf, StopForwardOutputs } from './lib/outputs.js';
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

interface Situation {
  alive: boolean;
  pid?: number;
  source?: string;
  metrics: boolean;
  rec?: StopForwardOutputs;
  /** When this step recorded a completed stop (the process was seen gone); undefined otherwise. */
  stoppedAt?: string;
}

async function situation(ctx: StepContext): Promise<Situation> {
  const { pid, source } = forwardPid(ctx);
  const alive = pid !== undefined && ctx.services.processes.isAlive(pid);
  const rec = outputsOf(ctx, 'stop-forward', StopForwardOutputs);
  // A SIGTERM sent after the recorded stop would mean a stop that has not been seen to finish.
  const stoppedAt = rec?.stoppedAt && !(rec.signalledAt && rec.signalledAt > rec.stoppedAt) ? rec.stoppedAt : undefined;
  return { alive, pid, source, metrics: await metricsAnswer(ctx), rec, stoppedAt };
}

/** Pids that are never the forward replicator, whatever they look like. */
function excludedPids(ctx: StepContext): Map<number, string> {
  const out = new Map<number, string>([
    [process.pid, 'molt-failback itself'],
    [process.ppid, 'the process that started molt-failback'],
  ]);
  const engine = outputsOf(ctx, 'start-replicator', EngineOutputs);
  if (engine) out.set(engine.pid, "molt-failback's own replicator engine (start-replicator)");
  return out;
}

function identify(ctx: StepContext, s: Situation & { pid: number }): Promise<ForwardIdentity> {
  const signalled = s.rec?.method === 'signal' && !s.stoppedAt ? { pid: s.rec.pid, startTicks: s.rec.startTicks } : undefined;
  return identifyForward({ pid: s.pid, metricsUrl: ctx.config.forward.metricsUrl, metricsAnswer: s.metrics, signalled, excluded: excludedPids(ctx) });
}

const cmd = (id: ForwardIdentity): string => id.commandLine || '(command line unreadable)';

function notIdentified(s: Situation & { pid: number }, id: ForwardIdentity): { message: string; actions: string[] } {
  return {
    message: `pid ${s.pid} (${s.source}) is running, but nothing shows it is the forward replicator, so it is not signalled: ${id.reason}. Its command line: ${cmd(id)}.`,
    actions: [
      `If pid ${s.pid} is not the forward replicator (a stale pid file, or the pid now belongs to another process), give the right one with --forward-pid / --forward-pid-file, or leave both out and confirm that you stopped it yourself (${CONFIRM_STOPPED_FLAG} under --yes).`,
      `If it is the forward replicator, stop it yourself (kill -TERM ${s.pid}), wait for it to exit, and run again; or give --forward-metrics-url so the step can see it serving that endpoint.`,
    ],
  };
}

function restarted(s: Situation & { pid: number }, id: ForwardIdentity): { message: string; actions: string[] } {
  return {
    message: `pid ${s.pid} (${s.source}) is running and looks like a forward replicator (${id.reason}; ${cmd(id)}), but this step recorded the forward replicator stopped at ${s.stoppedAt}. It is not signalled again.`,
    actions: [`If a forward replicator was started again, stop it yourself (kill -TERM ${s.pid}), find out what restarted it, and run again.`, 'If it is something else, fix --forward-pid / --forward-pid-file.'],
  };
}

/** Alive and still the same process (same start time, where the system tells it). */
function stillRunning(ctx: StepContext, pid: number, startTicks: number | undefined): boolean {
  if (!ctx.services.processes.isAlive(pid)) return false;
  const now = processStartTicks(pid);
  return startTicks === undefined || now === undefined || now === startTicks;
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
    'Sends SIGTERM to the forward replicator (--forward-pid or --forward-pid-file) once it is identified as such (a `replicator` executable, or the process serving --forward-metrics-url) and waits for it to exit, or asks you to stop it; then proves it is gone and its metrics endpoint no longer answers. Never signals a process it cannot identify, never signals again after a recorded stop, and never sends SIGKILL without asking.',

  async check(ctx): Promise<CheckResult> {
    const s = await situation(ctx);
    if (s.alive && s.pid !== undefined) {
      const live = { ...s, pid: s.pid };
      const id = await identify(ctx, live);
      if (s.stoppedAt) {
        if (id.identified) return { state: 'blocked', detail: restarted(live, id).message, actions: restarted(live, id).actions };
        if (!s.metrics) return { state: 'satisfied', detail: `stopped at ${s.stoppedAt}; pid ${s.pid} now belongs to another process (${cmd(id)}), which is left alone` };
      } else {
        if (!id.identified) return { state: 'blocked', detail: notIdentified(live, id).message, actions: notIdentified(live, id).actions };
        return { state: 'pending', detail: `the forward replicator (pid ${s.pid}) is running: ${id.reason}` };
      }
    }
    if (s.metrics) {
      if (s.pid !== undefined) {
        return {
          state: 'blocked',
          detail: `pid ${s.pid} (${s.source}) is ${s.alive ? 'not the forward replicator' : 'gone'}, but ${ctx.config.forward.metricsUrl} still answers: another forward replicator is running`,
          actions: ['Find the process serving that metrics endpoint and stop it (kill -TERM <pid>), or fix --forward-pid / --forward-pid-file.'],
        };
      }
      return { state: 'pending', detail: `${ctx.config.forward.metricsUrl} still answers: the forward replicator is running` };
    }
    if (s.pid !== undefined || ctx.config.forward.metricsUrl) return { state: 'satisfied', detail: s.pid !== undefined ? `pid ${s.pid} is not running` : 'its metrics endpoint no longer answers' };
    return s.rec ? { state: 'satisfied', detail: `confirmed stopped at ${s.rec.stoppedAt ?? s.rec.signalledAt}` } : { state: 'pending', detail: 'no pid or metrics URL to check: needs your confirmation' };
  },

  async apply(ctx): Promise<void> {
    const s = await situation(ctx);
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
    const live = { ...s, pid: s.pid };
    const pid = s.pid;
    const id = await identify(ctx, live);
    if (s.stoppedAt) {
      // A stop is on record: whatever runs under this pid now is reported, never signalled.
      if (id.identified) throw new AppError('FORWARD_RESTARTED', restarted(live, id).message, { actions: restarted(live, id).actions });
      if (s.metrics) {
        throw new AppError('FORWARD_STILL_RUNNING', `pid ${pid} (${s.source}) is not the forward replicator, but ${ctx.config.forward.metricsUrl} still answers: another forward replicator is running.`, {
          actions: ['Find the process serving that metrics endpoint and stop it, or fix --forward-pid / --forward-pid-file.'],
        });
      }
      ctx.ui.info(`The forward replicator was stopped at ${s.stoppedAt}; pid ${pid} now belongs to another process (${cmd(id)}), which is left alone.`);
      return;
    }
    if (!id.identified) {
      const e = notIdentified(live, id);
      throw new AppError('FORWARD_NOT_IDENTIFIED', e.message, { actions: e.actions });
    }
    if (id.alreadySignalled) {
      // Resumed while it was shutting down: a second SIGTERM could cut its drain short.
      ctx.ui.info(`SIGTERM was already sent to the forward replicator, pid ${pid}, at ${s.rec?.signalledAt}; waiting for it to exit.`);
    } else {
      // The identity was read a moment ago (and an HTTP round trip may lie between): refuse if the pid changed hands since.
      if (id.startTicks !== undefined && processStartTicks(pid) !== id.startTicks) {
        throw new AppError('FORWARD_PID_CHANGED', `pid ${pid} exited and was reused while it was being identified; nothing was signalled.`, { actions: ['Run again.'] });
      }
      ctx.ui.info(`Sending SIGTERM to the forward replicator, pid ${pid} (${cmd(id)}): ${id.reason}.`);
      ctx.services.processes.signal(pid, 'SIGTERM');
      await ctx.record(asOutputs({ method: 'signal', pid, startTicks: id.startTicks, signalledAt: isoNow(ctx) }));
    }
    // forward.timeout bounds the whole wait; the warning comes after MOLT's grace period (or half the timeout if shorter).
    const timeoutMs = parseDuration(ctx.config.forward.timeout);
    const graceMs = Math.min(FORWARD_GRACE_MS, timeoutMs / 2);
    let asked = false;
    const gone = await poll(ctx, { intervalMs: 250, timeoutMs }, async (elapsed) => {
      if (!stillRunning(ctx, pid, id.startTicks)) return true;
      ctx.ui.progress(`waiting for pid ${pid} to exit (${formatMs(elapsed)})`);
      if (elapsed >= graceMs && !asked) {
        asked = true;
        ctx.ui.warn(`pid ${pid} is still running ${formatMs(elapsed)} after SIGTERM. It may still be flushing to CockroachDB; killing it could lose that work.`);
        // Only a person at a terminal may decide to kill it; --yes never implies SIGKILL.
        const canAsk = ctx.options.interactive && !ctx.options.yes;
        const kill = canAsk ? await ctx.ui.confirm(`Send SIGKILL to pid ${pid}?`, { default: false }) : false;
        if (!canAsk) ctx.ui.info(`Not sending SIGKILL without an interactive answer; waiting up to ${formatMs(timeoutMs)} in all.`);
        if (kill && stillRunning(ctx, pid, id.startTicks)) ctx.services.processes.signal(pid, 'SIGKILL');
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
    const s = await situation(ctx);
    if (s.alive && s.pid !== undefined) {
      // After a recorded stop, a live pid is fine as long as it is not a forward replicator again.
      const id = s.stoppedAt ? await identify(ctx, { ...s, pid: s.pid }) : undefined;
      if (!id || id.identified) return { ok: false, detail: `pid ${s.pid} is still running` };
      if (!s.metrics) return { ok: true, detail: `the forward replicator is gone (pid ${s.pid} now belongs to another process: ${cmd(id)})` };
    }
    if (s.metrics) return { ok: false, detail: `${ctx.config.forward.metricsUrl} still answers` };
    return { ok: true, detail: s.pid !== undefined ? `pid ${s.pid} is gone${ctx.config.forward.metricsUrl ? ' and its metrics endpoint is closed' : ''}` : ctx.config.forward.metricsUrl ? 'its metrics endpoint is closed' : 'confirmed stopped' };
  },

  async plan(ctx): Promise<PlannedAction[]> {
    const { pid, source } = forwardPid(ctx);
    const url = ctx.config.forward.metricsUrl;
    const actions: PlannedAction[] = [];
    if (pid !== undefined || source) {
      actions.push({ kind: 'process', target: `pid ${pid ?? '?'} (${source})`, text: 'kill -TERM', when: 'if it is running, is identified as the forward replicator (a `replicator` executable, or the process serving the metrics URL) and no stop is recorded yet' });
      actions.push({ kind: 'wait', target: `pid ${pid ?? '?'}`, text: `until it exits; after ${formatMs(FORWARD_GRACE_MS)} ask before any SIGKILL` });
    } else {
      actions.push({ kind: 'prompt', target: 'user', text: `Stop the forward replicator yourself and confirm (${CONFIRM_STOPPED_FLAG} under --yes)` });
    }
    if (url) actions.push({ kind: 'http', target: url, text: `GET ${url} until it no longer answers` });
    return actions;
  },
};
