/**
 * The step contract: every runbook step is check -> apply -> verify. `check` and `verify` are read-only;
 * `apply` must be safe to run again after a crash at any point, and records any external handle (job id,
 * pid, cursor) through ctx.record() the moment it exists. `plan` lists, without changing anything, every
 * SQL statement, HTTP call and process action `apply` would perform (secrets redacted), for --dry-run.
 */
import type { ExitCodeValue } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { FailbackConfig, StepId } from './config.js';
import type { StepServices } from './services.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Outputs = { readonly [key: string]: Json };

export interface CheckResult {
  /**
   * satisfied: the desired state already holds (apply is skipped, verify runs);
   * pending: apply is needed;
   * blocked: apply cannot help until the user acts (detail and actions say what to do).
   */
  state: 'satisfied' | 'pending' | 'blocked';
  detail: string;
  actions?: string[];
  /** Exit code when blocked (default 1): 4 when a database could not be reached. */
  exitCode?: ExitCodeValue;
}

export interface VerifyResult {
  ok: boolean;
  detail: string;
  actions?: string[];
}

export interface PlannedAction {
  kind: 'sql' | 'http' | 'process' | 'file' | 'prompt' | 'wait';
  /** Where the action goes: "CockroachDB", "target", "staging", a URL, a pid, a path (redacted). */
  target: string;
  /** The statement, request line, command or description; secrets replaced by "****". */
  text: string;
  /** When the action only happens under a condition (e.g. "if kv.rangefeed.enabled is false"). */
  when?: string;
}

export interface StepUi {
  /** Live progress for the running step (task output in a terminal, a log line otherwise). */
  progress(message: string): void;
  /** A line the user should read (kept in the run's output). */
  info(message: string): void;
  warn(message: string): void;
  /**
   * Asks for confirmation. Under --yes returns true, unless `needsExplicitConsent` (then it throws
   * DECLINED naming the flag that gives consent). Without a terminal and without --yes it throws
   * MISSING_INPUT rather than hanging.
   */
  confirm(message: string, options?: { default?: boolean; needsExplicitConsent?: string }): Promise<boolean>;
}

export interface RunOptions {
  /** --yes: skip confirmations. */
  readonly yes: boolean;
  /** A terminal is attached and prompts are allowed. */
  readonly interactive: boolean;
  readonly dryRun: boolean;
}

export interface StepContext {
  readonly config: FailbackConfig;
  /** Folder holding the state file; steps keep their files (pid, logs, certificates, token) here. */
  readonly stateDir: string;
  readonly log: Logger;
  /** Aborted on Ctrl-C / SIGTERM: long waits must stop promptly. */
  readonly signal: AbortSignal;
  readonly ui: StepUi;
  readonly services: StepServices;
  readonly options: RunOptions;
  /** Outputs recorded so far by any step (this run or an earlier one). */
  outputs(id: StepId): Outputs;
  /** Persists outputs of the running step now (atomic state write); merges with earlier outputs. */
  record(values: Outputs): Promise<void>;
}

export interface Step {
  readonly id: StepId;
  readonly title: string;
  /** One paragraph: what the step does and why (shown in the plan and `step --list`). */
  readonly description: string;
  check(ctx: StepContext): Promise<CheckResult>;
  apply(ctx: StepContext): Promise<void>;
  verify(ctx: StepContext): Promise<VerifyResult>;
  plan(ctx: StepContext): Promise<PlannedAction[]>;
}
