/**
 * What the wizard's commands share once the config is loaded: the state store, the services, the base
 * StepContext, and running (or planning) the selected steps with the renderer that fits the output.
 * It renders nothing itself and never prints a secret; commands stay thin by calling it.
 */
import { dirname, resolve } from 'node:path';
import type { SettingSource } from '../lib/config.js';
import { redactConn } from '../lib/conn.js';
import { AppError, ExitCode } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { FailbackConfig, StepId } from './config.js';
import { ListrRenderer } from './render-listr.js';
import { PlainRenderer, type RunRenderer, type StepMessage } from './render-plain.js';
import { Runner, selectSteps, type BaseContext, type PlanResult, type RunResult, type RunnerListener, type Selection } from './runner.js';
import { makeScrubber, type Scrubber } from './scrub.js';
import type { StepServices } from './services.js';
import type { FailbackState } from './state/schema.js';
import { FileStateStore, type StateStore } from './state/store.js';
import type { RunOptions, Step } from './step.js';
import { promptIo, type AbortWiring } from './terminal.js';
import { stepUiFactory, uiMode } from './ui.js';


export interface SessionOptions {
  interactive: boolean;
  yes: boolean;
  dryRun: boolean;
  log: Logger;
  signal: AbortSignal;
}

export interface Session {
  readonly config: Readonly<FailbackConfig>;
  readonly sources: Record<string, SettingSource>;
  readonly store: StateStore;
  readonly stateFile: string;
  readonly stateDir: string;
  readonly log: Logger;
  readonly services: StepServices;
  readonly options: RunOptions;
  /** The StepContext parts the runner does not bind per step. */
  readonly base: BaseContext;
  /** Redacted description of this failback for the state file. */
  readonly subject: FailbackState['subject'];
  readonly scrub: Scrubber;
  /** Closes every connection the services opened. Idempotent. */
  close(): Promise<void>;
}

/**
 * Builds a session from a loaded config. Opens nothing yet: services connect on first use. The import
 * below is not what keeps startup light: the steps already load services-impl (through observe.js)
 * and pg (through the engine's dialects) statically; only the MySQL and Oracle drivers wait for first use.
 */
export async function openSession(loaded: { config: Readonly<FailbackConfig>; sources: Record<string, SettingSource> }, options: SessionOptions): Promise<Session> {
  const { createServices } = await import('./services-impl.js');
  const { config } = loaded;
  const stateFile = resolve(config.stateFile);
  const stateDir = dirname(stateFile);
  const services = createServices(config, options.log);
  const runOptions: RunOptions = { yes: options.yes, interactive: options.interactive, dryRun: options.dryRun };
  const base: BaseContext = { config, stateDir, log: options.log, signal: options.signal, services, options: runOptions };
  let closed = false;
  return {
    config,
    sources: loaded.sources,
    store: new FileStateStore(stateFile),
    stateFile,
    stateDir,
    log: options.log,
    services,
    options: runOptions,
    base,
    subject: subjectOf(config),
    scrub: makeScrubber(config),
    async close() {
      if (closed) return;
      closed = true;
      await services.close();
    },
  };
}

export function subjectOf(config: Readonly<FailbackConfig>): FailbackState['subject'] {
  return {
    crdb: redactConn(config.crdb.conn),
    target: redactConn(config.target.conn),
    ...(config.target.schema ? { targetSchema: config.target.schema } : {}),
    tables: [...config.tables],
  };
}

// ---------------------------------------------------------------------------------------------------
// Running selected steps

export interface DriveOptions {
  steps: readonly Step[];
  selection: Selection;
  /** Draw the live listr task list (a terminal with columns, not --json). */
  live: boolean;
  /** Plain lines go to stderr under --json (stdout carries the result). */
  json: boolean;
  abort: AbortWiring;
}

export interface DriveOutcome {
  result: RunResult;
  messages: ReadonlyMap<StepId, readonly StepMessage[]>;
  state: FailbackState;
}

/** Runs the selected steps with the Runner, drawn by the renderer that fits the output. */
/**
 * A state whose failback was torn down describes a finished failback: running steps on it would start a
 * new engine and changefeed from the old high-water mark under the old records. Refused before anything runs.
 */
export function refuseAfterTeardown(session: Session): void {
  const torn = session.store.read()?.teardown;
  if (!torn) return;
  throw new AppError('TORN_DOWN', `The state file ${session.stateFile} records a teardown at ${torn.at}: the failback it describes has ended.`, {
    exitCode: ExitCode.STATE,
    actions: [
      'To start a new failback, use a fresh state file: --state <new path> (or MOLT_FAILBACK_STATE).',
      `Or move ${session.stateFile} aside to start over in the same folder; molt-failback status still reads it there.`,
    ],
  });
}

export async function driveRun(session: Session, options: DriveOptions): Promise<DriveOutcome> {
  refuseAfterTeardown(session);
  const selected = selectSteps(options.steps, options.selection);
  const renderer: RunRenderer = options.live
    ? new ListrRenderer({ scrub: session.scrub })
    : new PlainRenderer({ out: options.json ? process.stderr : process.stdout, scrub: session.scrub });
  renderer.begin(selected);
  const ui = stepUiFactory({
    mode: uiMode(session.options),
    listener: renderer,
    suspend: () => renderer.suspend(),
    promptIo: promptIo(options.json),
    onPromptAbort: () => options.abort.abort(),
  });
  const runner = new Runner({
    steps: options.steps,
    store: session.store,
    base: session.base,
    ui,
    listener: renderer,
    selection: options.selection,
    subject: session.subject,
    scrub: session.scrub,
  });
  let result: RunResult | undefined;
  try {
    result = await runner.run();
  } finally {
    await renderer.end(result);
  }
  return { result, messages: renderer.messages, state: runner.snapshot };
}

/** The dry run: each selected step's planned actions; reads the state, never writes or locks it. */
export async function planRun(session: Session, steps: readonly Step[], selection: Selection): Promise<PlanResult> {
  const silent: RunnerListener = {};
  const runner = new Runner({
    steps,
    store: session.store,
    base: session.base,
    ui: stepUiFactory({ mode: 'non-interactive', listener: silent }),
    selection,
  });
  const plan = await runner.plan();
  // Steps redact their own texts; scrub again so a slip can never print a configured secret.
  return {
    steps: plan.steps.map((s) => ({
      ...s,
      error: s.error === undefined ? undefined : session.scrub(s.error),
      actions: s.actions.map((a) => ({ ...a, target: session.scrub(a.target), text: session.scrub(a.text), ...(a.when ? { when: session.scrub(a.when) } : {}) })),
    })),
  };
}
