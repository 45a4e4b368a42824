/**
 * Runs the real failback wizard (every step of the runbook, through the same Runner, renderers and
 * state file as `molt-failback run --yes`) in the sandbox's process, against the sandbox's databases.
 * The configuration is built from the settings table with only the sandbox's values and the table's
 * defaults: the user's MOLT_FAILBACK_* variables and ./molt-failback.json are deliberately ignored, so a
 * real failback's settings can never leak into a demo (or the other way round).
 */
import { collectSettings, finalizeConfig } from '../lib/config.js';
import type { Logger } from '../lib/log.js';
import { FailbackConfigSchema, type FailbackConfig } from '../steps/config.js';
import { RUNBOOK } from '../steps/index.js';
import type { RunResult } from '../steps/runner.js';
import { driveRun, openSession } from '../steps/session.js';
import { SETTING_DEFS } from '../steps/settings.js';
import { type AbortWiring } from '../steps/terminal.js';
import type { FailbackState } from '../steps/state/schema.js';

export interface WizardSettings {
  readonly stateFile: string;
  readonly crdbUrl: string;
  readonly targetUrl: string;
  readonly tables: readonly string[];
  readonly bindPort: number;
  readonly metricsPort: number;
  readonly forward: { readonly metricsUrl: string; readonly pid: number };
}

/** Setting key -> value: the sandbox's choices; everything else keeps the settings table's default. */
function sandboxValues(s: WizardSettings): Record<string, unknown> {
  return {
    stateFile: s.stateFile,
    'crdb.conn': s.crdbUrl,
    tables: [...s.tables],
    'target.conn': s.targetUrl,
    // Staging on the emulated CockroachDB itself, as in production (defaultdb._replicator).
    'staging.schema': 'defaultdb._replicator',
    'staging.createSchema': true,
    'replicator.bindAddr': `127.0.0.1:${s.bindPort}`,
    'replicator.host': 'localhost',
    'replicator.metricsAddr': `127.0.0.1:${s.metricsPort}`,
    // Quick to stop, quick to retry a window after a foreign-key wait, and small pools: the embedded
    // databases serve one client at a time anyway.
    // --exitWithPid: an engine must not outlive a sandbox that was killed before it could clean up.
    'replicator.extraFlags': ['--exitWithPid', String(process.pid), '--gracePeriod', '5s', '--quiescentPeriod', '1s', '--targetMaxPoolSize', '4', '--stagingMaxPoolSize', '8'],
    'forward.metricsUrl': s.forward.metricsUrl,
    'forward.pid': s.forward.pid,
    'forward.quietPeriod': '1s',
    'forward.pollInterval': '250ms',
    'forward.timeout': '1m',
    'changefeed.resolved': '250ms',
    'changefeed.minCheckpointFrequency': '250ms',
    'changefeed.webhookSinkConfig': '{"Flush":{"Bytes":1048576,"Frequency":"250ms"}}',
    'monitor.timeout': '1m',
    // The sandbox owns its staging: consent to the targeted clean-up the wizard may offer.
    'monitor.cleanStaging': true,
  };
}

/** A validated, frozen wizard config for the sandbox (throws the loader's error if a value is invalid). */
export function wizardConfig(s: WizardSettings): { config: Readonly<FailbackConfig>; sources: ReturnType<typeof finalizeConfig>['sources'] } {
  const byKey = new Map(SETTING_DEFS.map((d) => [d.key, d]));
  const flags: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(sandboxValues(s))) {
    const def = byKey.get(key);
    if (!def?.flag) throw new Error(`sandbox: unknown wizard setting ${key}`);
    flags[def.flag] = value;
  }
  return finalizeConfig(FailbackConfigSchema, SETTING_DEFS, collectSettings(SETTING_DEFS, { flags, env: {} }));
}

export interface WizardRun {
  readonly result: RunResult;
  readonly state: FailbackState;
  readonly durationMs: number;
}

export interface WizardRunOptions {
  /** Draw the live task list (a terminal, not --json). */
  readonly live: boolean;
  /** Plain lines to stderr (stdout carries the JSON result). */
  readonly json: boolean;
  /** Ask in the terminal when a step needs more than --yes gives (it never should here). */
  readonly interactive: boolean;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly abort: () => void;
}

/** `molt-failback run --yes` over every step, in this process. Never throws for a failed step: see result. */
export async function runWizard(loaded: ReturnType<typeof wizardConfig>, o: WizardRunOptions): Promise<WizardRun> {
  const started = Date.now();
  const session = await openSession(loaded, { interactive: o.interactive, yes: true, dryRun: false, log: o.log, signal: o.signal });
  const abort: AbortWiring = { signal: o.signal, abort: o.abort, received: () => undefined, dispose: () => undefined };
  try {
    const { result, state } = await driveRun(session, { steps: RUNBOOK, selection: {}, live: o.live, json: o.json, abort });
    return { result, state, durationMs: Date.now() - started };
  } finally {
    await session.close();
  }
}
