/**
 * What the wizard's commands share between parsing flags and calling the runner: the setting flags
 * (generated from FAILBACK_SETTINGS), config loading with prompts for what is missing (only in a
 * terminal), the state store, the logger, the abort signal wired to SIGINT/SIGTERM, the services and
 * the base StepContext. It renders nothing and never prints a secret; commands stay thin by calling it.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Flags, type Interfaces } from '@oclif/core';
import type { LevelWithSilent } from 'pino';
import { AppError, ExitCode } from '../lib/errors.js';
import {
  applyAnswer,
  collectSettings,
  environment,
  finalizeConfig,
  missingInputError,
  setPath,
  coveredByMissing,
  type CollectedSettings,
  type SettingDef,
  type SettingSource,
} from '../lib/config.js';
import { parseConn, redactConn, redactText } from '../lib/conn.js';
import { createLogger, type Logger } from '../lib/log.js';
import { askChoice, askConfirm, askSecret, askText, type PromptIo } from '../lib/prompt.js';
import { FAILBACK_SETTINGS, FailbackConfigSchema, STEP_IDS, type FailbackConfig, type StepId } from './config.js';
import { ListrRenderer } from './render-listr.js';
import { PlainRenderer, type RunRenderer, type StepMessage } from './render-plain.js';
import { Runner, selectSteps, type BaseContext, type PlanResult, type RunResult, type RunnerListener, type Selection } from './runner.js';
import type { StepServices } from './services.js';
import type { FailbackState } from './state/schema.js';
import { FileStateStore, type StateStore } from './state/store.js';
import type { RunOptions, Step } from './step.js';
import { stepUiFactory, uiMode } from './ui.js';

export const CONFIG_ENV = 'MOLT_FAILBACK_CONFIG';
/** Read when present in the working directory and neither --config nor MOLT_FAILBACK_CONFIG is given. */
export const DEFAULT_CONFIG_FILE = 'molt-failback.json';

// ---------------------------------------------------------------------------------------------------
// Setting flags

/**
 * Settings without a flag in the table (tuning knobs) still get one, named after their key, so every
 * setting can be given on the command line; they are grouped under ADVANCED in --help.
 */
function derivedFlag(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/\./g, '-')
    .toLowerCase();
}

/** FAILBACK_SETTINGS with a flag name on every entry: the table the commands load config with. */
export const SETTING_DEFS: readonly SettingDef[] = Object.freeze(FAILBACK_SETTINGS.map((d) => Object.freeze({ ...d, flag: d.flag ?? derivedFlag(d.key) })));

function flagDescription(def: SettingDef): string {
  const parts = [`${def.description}.`];
  if (def.env) parts.push(`Env: ${def.env}.`);
  parts.push(`Config file key: "${def.key}".`);
  if (def.default !== undefined && !(Array.isArray(def.default) && def.default.length === 0)) {
    parts.push(`Default: ${typeof def.default === 'string' ? def.default : JSON.stringify(def.default)}.`);
  }
  if (def.secret) parts.push(`Secret: better given through ${def.env ?? 'the config file'}, since flags end up in shell history and process lists.`);
  return parts.join(' ');
}

function helpGroup(def: SettingDef): string {
  if (def.required) return 'REQUIRED SETTINGS';
  return FAILBACK_SETTINGS.find((d) => d.key === def.key)?.flag ? 'SETTINGS' : 'ADVANCED SETTINGS';
}

/**
 * oclif flags for every setting. No flag carries a default: defaults live in the settings table so
 * that env vars and the config file can still win over them (flags > env > file > defaults).
 */
export function settingFlags(): Interfaces.FlagInput {
  const out: Interfaces.FlagInput = {};
  for (const def of SETTING_DEFS) {
    const name = def.flag as string;
    const common = { description: flagDescription(def), helpGroup: helpGroup(def) };
    if (def.kind === 'boolean') out[name] = Flags.boolean({ ...common, allowNo: true });
    else if (def.kind === 'list') out[name] = Flags.string({ ...common, multiple: true, helpValue: 'a,b' });
    else out[name] = Flags.string({ ...common, helpValue: def.secret ? 'URL' : def.kind === 'number' ? 'N' : 'VALUE' });
  }
  return out;
}

/** --config: shared by every command that reads settings. */
export const configFlag = Flags.string({
  description: `JSON config file holding settings by key (e.g. {"crdb": {"conn": "..."}, "tables": ["t1"]}). Env: ${CONFIG_ENV}. Default: ./${DEFAULT_CONFIG_FILE} when it exists.`,
  helpValue: 'FILE',
});

/** Step selection flags for `run`. */
export const selectionFlags = {
  from: Flags.string({ description: 'Start at this step (see `step --list`).', options: [...STEP_IDS], helpValue: 'STEP' }),
  to: Flags.string({ description: 'Stop after this step.', options: [...STEP_IDS], helpValue: 'STEP' }),
  only: Flags.string({ description: 'Run only these steps (repeatable or comma-separated).', multiple: true, helpValue: 'STEP[,STEP]' }),
};

/** Turns --only values ("a,b" and repeated flags) into a Selection; unknown ids fail in selectSteps. */
export function selectionFrom(flags: { from?: string; to?: string; only?: string[] }): Selection {
  const only = (flags.only ?? []).flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
  return {
    from: flags.from as StepId | undefined,
    to: flags.to as StepId | undefined,
    only: only.length > 0 ? (only as StepId[]) : undefined,
  };
}

// ---------------------------------------------------------------------------------------------------
// Config loading

type ParsedFlags = Record<string, unknown>;

/** The config file to read: --config, then MOLT_FAILBACK_CONFIG (both must exist), then ./molt-failback.json if present. */
export function configFileFrom(flags: ParsedFlags, env: Readonly<Record<string, string | undefined>>): { file?: string; required: boolean } {
  const given = (flags.config as string | undefined) ?? (env[CONFIG_ENV] || undefined);
  if (given) return { file: given, required: true };
  return existsSync(resolve(DEFAULT_CONFIG_FILE)) ? { file: DEFAULT_CONFIG_FILE, required: false } : { required: false };
}

/** Flag values as collectSettings expects them: lists split on commas, numbers and JSON parsed when they parse. */
function normalizeFlags(flags: ParsedFlags): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const def of SETTING_DEFS) {
    const v = flags[def.flag as string];
    if (v === undefined) continue;
    switch (def.kind) {
      case 'list':
        out[def.flag as string] = (Array.isArray(v) ? v : [v]).flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
        break;
      case 'number': {
        // An unparseable number is passed on as text so zod reports it, naming the flag.
        const n = Number(v);
        out[def.flag as string] = typeof v === 'string' && v.trim() !== '' && Number.isFinite(n) ? n : v;
        break;
      }
      case 'json':
        try {
          out[def.flag as string] = JSON.parse(String(v));
        } catch {
          out[def.flag as string] = v;
        }
        break;
      default:
        out[def.flag as string] = v;
    }
  }
  return out;
}

/** Reads flags, env and the config file (no prompts, no validation). */
export function collectFailbackSettings(flags: ParsedFlags, env = environment()): CollectedSettings {
  const { file, required } = configFileFrom(flags, env);
  return collectSettings(SETTING_DEFS, { flags: normalizeFlags(flags), env, file, fileRequired: required });
}

/** The state file path alone (for `status`, which must work without the rest of the config). */
export function stateFileFrom(flags: ParsedFlags, env = environment()): string {
  const collected = collectFailbackSettings(flags, env);
  const v = collected.values.stateFile;
  return resolve(typeof v === 'string' && v !== '' ? v : '.molt-failback/state.json');
}

/** Why a single answer is invalid (zod's message for that key only), or undefined when it is fine. */
function problemWith(collected: CollectedSettings, def: SettingDef, value: unknown): string | undefined {
  const values = structuredClone(collected.values);
  setPath(values, def.key, value);
  const parsed = FailbackConfigSchema.safeParse(values);
  if (parsed.success) return undefined;
  const issue = parsed.error.issues.find((i) => {
    const key = i.path.map(String).join('.');
    return key === def.key || key.startsWith(`${def.key}.`);
  });
  return issue?.message;
}

function answerValue(def: SettingDef, raw: string | boolean): unknown {
  if (typeof raw === 'boolean') return raw;
  if (def.kind === 'list') return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (def.kind === 'number') return Number(raw);
  return raw.trim();
}

async function ask(def: SettingDef, io: PromptIo): Promise<string | boolean> {
  const message = def.prompt?.message ?? def.description;
  switch (def.prompt?.kind ?? (def.secret ? 'password' : 'input')) {
    case 'password':
      return askSecret(message, io);
    case 'confirm':
      return askConfirm(message, {}, io);
    case 'select':
      return askChoice(message, def.prompt?.choices ?? [], io);
    default:
      return askText(message, {}, io);
  }
}

const MAX_ATTEMPTS = 3;

/**
 * Asks for every missing required value, re-asking (up to three times) when an answer does not
 * validate. The problem is shown without the answer, which may be a secret.
 */
export async function promptForMissing(collected: CollectedSettings, io: PromptIo, say: (line: string) => void): Promise<void> {
  for (const def of [...collected.missing]) {
    for (let attempt = 1; ; attempt++) {
      const value = answerValue(def, await ask(def, io));
      const problem = problemWith(collected, def, value);
      if (!problem) {
        applyAnswer(collected, def, value);
        break;
      }
      if (attempt >= MAX_ATTEMPTS) {
        throw new AppError('CONFIG_INVALID', `${def.key}: ${problem}`, {
          exitCode: ExitCode.USAGE,
          actions: [`Give it with --${def.flag}${def.env ? ` or ${def.env}` : ''} instead.`],
        });
      }
      say(`  ${def.key}: ${problem} Try again.`);
    }
  }
}

function hasOtherIssues(collected: CollectedSettings): boolean {
  const parsed = FailbackConfigSchema.safeParse(collected.values);
  if (parsed.success) return false;
  return parsed.error.issues.some((i) => !coveredByMissing(collected.missing, i.path.map(String).join('.')));
}

export interface LoadOptions {
  /** Prompts are allowed (a terminal is attached). */
  interactive: boolean;
  promptIo?: PromptIo;
  /** Where a re-ask explanation goes (stderr by default). */
  say?: (line: string) => void;
}

/**
 * Loads the wizard config: flags > env > config file > defaults, then prompts for what is still
 * missing when interactive. Without a terminal every missing value is listed at once (exit 3),
 * together with any other problem found (exit 2 wins when something is also invalid).
 */
export async function loadFailbackConfig(flags: ParsedFlags, options: LoadOptions): Promise<{ config: Readonly<FailbackConfig>; sources: Record<string, SettingSource> }> {
  const collected = collectFailbackSettings(flags);
  if (collected.missing.length > 0) {
    if (!options.interactive) {
      // Only missing values: exit 3 with the list. Anything else wrong too: one USAGE error with all of it.
      if (collected.problems.length > 0 || hasOtherIssues(collected)) return finalizeConfig(FailbackConfigSchema, SETTING_DEFS, collected);
      throw missingInputError(collected.missing);
    }
    await promptForMissing(collected, options.promptIo ?? promptIo(), options.say ?? ((l) => process.stderr.write(`${l}\n`)));
  }
  return finalizeConfig(FailbackConfigSchema, SETTING_DEFS, collected);
}

// ---------------------------------------------------------------------------------------------------
// Terminal, logging, signals

/** Prompts need a terminal on stdin and somewhere visible to draw: stdout, or stderr when stdout is piped. */
export function isInteractive(): boolean {
  return Boolean(process.stdin.isTTY) && Boolean(process.stdout.isTTY || process.stderr.isTTY);
}

/** Prompts draw on stderr under --json or when stdout is not a terminal, so stdout carries only the result. */
export function promptIo(json = false): PromptIo {
  return process.stdout.isTTY && !json ? {} : { output: process.stderr };
}

/** A terminal with a known width: the only case where listr's live task list renders well. */
export function canRenderLive(): boolean {
  return Boolean(process.stdout.isTTY) && (process.stdout.columns ?? 0) > 0;
}

export interface LogFlags {
  json?: boolean;
  debug?: boolean;
  'log-level'?: string;
}

/**
 * Logs go through process.stderr (not fd 2 directly) so that listr, which buffers the streams while it
 * draws, can hold them until the task list is done. Under a live task list or --json the default is
 * warn: step progress is already on screen, and stdout is for the JSON result.
 */
export function sessionLogger(flags: LogFlags, live: boolean): Logger {
  const env = environment();
  const level = (flags['log-level'] ?? env.MOLT_FAILBACK_LOG_LEVEL ?? (flags.debug ? 'debug' : flags.json || live ? 'warn' : 'info')) as LevelWithSilent;
  return createLogger({ level, destination: process.stderr });
}

export interface AbortWiring {
  readonly signal: AbortSignal;
  /** Aborts as a signal would (used when the user presses Ctrl-C at a prompt, which eats SIGINT). */
  abort(): void;
  /** The signal that aborted the run, if any. */
  readonly received: () => NodeJS.Signals | undefined;
  dispose(): void;
}

/**
 * SIGINT/SIGTERM abort the signal: the running step stops at its next await, the runner saves the
 * state and the command exits 130. A second signal exits at once (the lock is stale-safe).
 */
export function wireAbort(notify: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): AbortWiring {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const handler = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      notify(`Second ${sig}: exiting now. Run the same command again to resume.`);
      process.exit(ExitCode.INTERRUPTED);
    }
    received = sig;
    notify(`\n${sig} received: stopping the current step and saving the state (press Ctrl-C again to quit at once).`);
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    abort: () => controller.abort(),
    received: () => received,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Secrets

/**
 * Every secret text the config holds (connection strings, their passwords, raw and decoded), longest
 * first. Output that could quote a driver message or a step's text goes through scrub() as a last
 * line of defence; steps are already expected to redact.
 */
export function secretValues(config: Readonly<FailbackConfig> | undefined): string[] {
  if (!config) return [];
  const out = new Set<string>();
  for (const def of SETTING_DEFS) {
    if (!def.secret) continue;
    const v = getString(config as unknown as Record<string, unknown>, def.key);
    if (!v) continue;
    out.add(v);
    try {
      const p = parseConn(v, def.key);
      if (p.password.length >= 3) {
        out.add(p.password);
        out.add(p.url.password);
      }
    } catch {
      // Not a URL: the whole value is already in the set.
    }
  }
  return [...out].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
}

function getString(obj: Record<string, unknown>, key: string): string | undefined {
  let cur: unknown = obj;
  for (const part of key.split('.')) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[part] : undefined;
  return typeof cur === 'string' ? cur : undefined;
}

export type Scrubber = (text: string) => string;

export function makeScrubber(config: Readonly<FailbackConfig> | undefined): Scrubber {
  const secrets = secretValues(config);
  return (text: string) => {
    let out = redactText(text);
    for (const s of secrets) out = out.split(s).join(s.includes('://') ? redactConn(s) : '****');
    return out;
  };
}

// ---------------------------------------------------------------------------------------------------
// The session

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
 * Builds a session from a loaded config. Opens nothing yet: services connect on first use. The
 * services module (and with it every database driver) is loaded only here, so `step --list`, `status`
 * and usage errors start fast.
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
export async function driveRun(session: Session, options: DriveOptions): Promise<DriveOutcome> {
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
