/**
 * Read-mostly helpers for the commands around the runbook (`status`, `teardown`, `sandbox`): the
 * changefeed job and the engine as they are now, stopping our engine, cancelling our changefeed, the
 * sink URI for a config, and what to do next given a state file. None of them writes the state file.
 */
import type { FailbackConfig } from './config.js';
import { STEP_IDS } from './config.js';
import { sinkLocation, sinkTls } from './lib/common.js';
import { engineDiag as diagAt } from './lib/engine.js';
import { scrapeEngine as scrapeAt, type EngineSnapshot } from './lib/metrics.js';
import { buildSinkUri } from './lib/sink-uri.js';
import type { TlsOutputs } from './lib/outputs.js';
import { UndiciHttp } from './services-impl.js';
import type { HttpClient, StepServices } from './services.js';
import type { FailbackState } from './state/schema.js';

export { cancelChangefeed, isActiveStatus, listChangefeedJobs, readChangefeedJob, type CancelOutcome, type ChangefeedJob } from './lib/jobs.js';
export { engineFiles, engineHealthy, metricsBase, type EngineDiag } from './lib/engine.js';
export type { EngineSnapshot } from './lib/metrics.js';

const defaultHttp = (): HttpClient => new UndiciHttp();

/** Scrapes the engine's /_/varz once and returns the numbers the wizard reads (see EngineSnapshot). */
export function scrapeEngine(metricsUrl: string, http: HttpClient = defaultHttp(), timeoutMs = 3000): Promise<EngineSnapshot> {
  return scrapeAt(http, metricsUrl, Date.now, timeoutMs);
}

/** GET <metricsBase>/_/diag (pid, fingerprint, bindAddr, ...); undefined when no engine answers. */
export function engineDiag(metricsBase: string, http: HttpClient = defaultHttp()) {
  return diagAt(http, metricsBase);
}

export interface StopOutcome {
  /** gone: not running before; stopped: exited after SIGTERM; still-running: did not exit within graceMs. */
  outcome: 'gone' | 'stopped' | 'still-running';
  waitedMs: number;
}

/**
 * Sends SIGTERM to an engine pid and waits up to graceMs for it to exit (the engine finishes or
 * abandons its window in flight within its --gracePeriod). Never sends SIGKILL.
 */
export async function stopEngine(services: Pick<StepServices, 'processes' | 'sleep' | 'now'>, pid: number, graceMs: number, signal?: AbortSignal): Promise<StopOutcome> {
  const start = services.now();
  if (!services.processes.isAlive(pid)) return { outcome: 'gone', waitedMs: 0 };
  services.processes.signal(pid, 'SIGTERM');
  while (services.processes.isAlive(pid)) {
    if (services.now() - start >= graceMs) return { outcome: 'still-running', waitedMs: services.now() - start };
    await services.sleep(100, signal);
  }
  return { outcome: 'stopped', waitedMs: services.now() - start };
}

/** The changefeed sink URI for a config and prepare-tls's files; `redact` for anything shown or logged. */
export function sinkUriFor(config: FailbackConfig, tls: TlsOutputs, options: { redact?: boolean } = {}): string {
  return buildSinkUri(sinkLocation(config), sinkTls(tls), options);
}

/** Plain-language next actions for a state file (what `run`, `step` and `status` print at the end). */
export function nextActions(state: FailbackState): string[] {
  const rec = (id: string) => state.steps[id];
  const failed = STEP_IDS.find((id) => rec(id)?.status === 'failed');
  if (failed) {
    const r = rec(failed);
    return [
      `Fix what ${failed} reported${r?.error ? ` (${r.error.code})` : ''}, then run molt-failback run again: it resumes at ${failed}.`,
      `To retry only that step: molt-failback step ${failed}.`,
    ];
  }
  const halfDone = STEP_IDS.find((id) => rec(id)?.status === 'applying' || rec(id)?.status === 'applied');
  if (halfDone) return [`${halfDone} was interrupted; run molt-failback run again: it re-checks ${halfDone} before doing anything.`];
  const next = STEP_IDS.find((id) => rec(id)?.status !== 'verified');
  if (next) {
    return next === STEP_IDS[0] ? ['Start the failback: molt-failback run (molt-failback run --dry-run shows every action first).'] : [`Continue: molt-failback run (it resumes at ${next}).`];
  }
  if (state.teardown) return ['The failback was torn down. Start a new one with a fresh state file (--state) if needed.'];
  return [
    'Failback is running: changes on CockroachDB flow to the original database. Watch it with molt-failback status.',
    'Compare every table with CockroachDB at any time: molt-failback verify (row counts and checksums; differences that settle while changes flow are not reported).',
    'When CockroachDB becomes the only system of record again (or to stop failing back), end it cleanly: molt-failback teardown.',
  ];
}
