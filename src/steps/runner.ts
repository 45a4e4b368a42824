/**
 * The runbook runner: walks the selected steps in order through check -> apply -> verify, keeping the
 * state file as a write-ahead log. Every run re-checks the real systems (a step recorded as verified is
 * checked again, so a dead engine is noticed and restarted); a step found "applying" after a crash goes
 * back through check, never blindly re-applied or skipped. It emits events and knows nothing of listr2.
 */
import { AppError, ExitCode, toAppError } from '../lib/errors.js';
import type { StepId } from './config.js';
import { STEP_IDS } from './config.js';
import type { Outputs, PlannedAction, Step, StepContext, StepUi } from './step.js';
import { emptyState, emptyStepRecord, type FailbackState, type StepRecord } from './state/schema.js';
import type { StateStore } from './state/store.js';

export type StepOutcome = 'verified' | 'adopted' | 'failed' | 'not-run' | 'interrupted';

export interface StepResult {
  id: StepId;
  title: string;
  outcome: StepOutcome;
  durationMs: number;
  detail?: string;
  error?: ReturnType<AppError['toJSON']>;
}

export interface RunResult {
  results: StepResult[];
  error?: AppError;
  exitCode: number;
}

export interface PlanResult {
  steps: Array<{ id: StepId; title: string; actions: PlannedAction[]; error?: string }>;
}

export interface RunnerListener {
  stepStart?(step: Step, info: { previous?: StepRecord }): void;
  stepProgress?(step: Step, message: string): void;
  stepInfo?(step: Step, message: string, level: 'info' | 'warn'): void;
  stepEnd?(step: Step, result: StepResult): void;
}

export interface Selection {
  from?: StepId;
  to?: StepId;
  only?: readonly StepId[];
}

/** Everything a StepContext holds except what the runner binds per step. */
export type BaseContext = Omit<StepContext, 'record' | 'outputs' | 'ui'>;

export interface RunOptions {
  steps: readonly Step[];
  store: StateStore;
  base: BaseContext;
  /** Builds the step's UI (prompts, progress) from the runner's listener. */
  ui: (step: Step) => StepUi;
  listener?: RunnerListener;
  selection?: Selection;
  /** Redacted description of what this run is about, stored in the state file. */
  subject?: FailbackState['subject'];
  /** Applied to every text the runner logs (details may quote settings). */
  scrub?: (text: string) => string;
}

export function selectSteps(steps: readonly Step[], selection: Selection = {}): Step[] {
  const ids = steps.map((s) => s.id);
  const known = new Set<string>(STEP_IDS);
  for (const id of [selection.from, selection.to, ...(selection.only ?? [])]) {
    if (id !== undefined && !known.has(id)) {
      throw new AppError('UNKNOWN_STEP', `"${id}" is not a step.`, { exitCode: ExitCode.USAGE, actions: [`Steps: ${STEP_IDS.join(', ')}.`] });
    }
  }
  if (selection.only && selection.only.length > 0) {
    if (selection.from || selection.to) throw new AppError('BAD_SELECTION', '--only cannot be combined with --from or --to.', { exitCode: ExitCode.USAGE });
    const only = new Set(selection.only);
    return steps.filter((s) => only.has(s.id));
  }
  const start = selection.from ? ids.indexOf(selection.from) : 0;
  const end = selection.to ? ids.indexOf(selection.to) : ids.length - 1;
  if (start > end) throw new AppError('BAD_SELECTION', `--from ${selection.from} comes after --to ${selection.to}.`, { exitCode: ExitCode.USAGE });
  return steps.slice(start, end + 1);
}

const now = () => new Date().toISOString();

function isAbort(err: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code === 'ABORT_ERR'));
}

/**
 * Loads the state, or a fresh one. state.runbook is informational: records are keyed by step id, so
 * a state written for another runbook order is not refused.
 */
export function loadState(store: StateStore): FailbackState {
  return store.read() ?? emptyState();
}

export class Runner {
  private state!: FailbackState;

  constructor(private readonly options: RunOptions) {}

  private save(): void {
    this.state.updatedAt = now();
    this.options.store.write(this.state);
  }

  private record(id: StepId): StepRecord {
    let rec = this.state.steps[id];
    if (!rec) {
      rec = emptyStepRecord();
      this.state.steps[id] = rec;
    }
    return rec;
  }

  private contextFor(step: Step): StepContext {
    const { base, ui } = this.options;
    return {
      ...base,
      ui: ui(step),
      outputs: (id: StepId): Outputs => (this.state.steps[id]?.outputs ?? {}) as Outputs,
      record: async (values: Outputs) => {
        const rec = this.record(step.id);
        rec.outputs = { ...rec.outputs, ...values };
        this.save();
      },
    };
  }

  /** Runs the selected steps; never throws for step failures (they are in the result). */
  async run(): Promise<RunResult> {
    const { store, base, listener } = this.options;
    const selected = selectSteps(this.options.steps, this.options.selection);
    const release = store.lock();
    try {
      this.state = loadState(store);
      if (this.options.subject) this.state.subject = { ...this.state.subject, ...this.options.subject };
      this.save();
      const results: StepResult[] = [];
      let failure: AppError | undefined;
      let interrupted = false;
      for (const step of selected) {
        if (failure || interrupted) {
          results.push({ id: step.id, title: step.title, outcome: 'not-run', durationMs: 0 });
          continue;
        }
        if (base.signal.aborted) {
          interrupted = true;
          results.push({ id: step.id, title: step.title, outcome: 'not-run', durationMs: 0 });
          continue;
        }
        const result = await this.runOne(step);
        results.push(result);
        listener?.stepEnd?.(step, result);
        if (result.outcome === 'interrupted') interrupted = true;
        if (result.outcome === 'failed') failure = this.lastError;
      }
      const exitCode = interrupted ? ExitCode.INTERRUPTED : failure ? failure.exitCode : ExitCode.OK;
      const error = interrupted
        ? new AppError('INTERRUPTED', 'Interrupted; progress is saved in the state file.', {
            exitCode: ExitCode.INTERRUPTED,
            actions: ['Run the same command again to resume where it stopped.'],
          })
        : failure;
      return { results, error, exitCode };
    } finally {
      release();
    }
  }

  private lastError?: AppError;

  private async runOne(step: Step): Promise<StepResult> {
    const { listener, base } = this.options;
    const scrub = this.options.scrub ?? ((t: string) => t);
    const log = base.log.child({ step: step.id });
    const started = Date.now();
    const rec = this.record(step.id);
    listener?.stepStart?.(step, { previous: { ...rec } });
    log.debug({ previous: rec.status, attempts: rec.attempts }, 'step started');
    const ctx = this.contextFor(step);
    const done = (outcome: StepOutcome, detail?: string): StepResult => ({
      id: step.id,
      title: step.title,
      outcome,
      durationMs: Date.now() - started,
      detail,
    });
    try {
      const check = await step.check(ctx);
      log.debug({ check: check.state, detail: scrub(check.detail) }, 'step checked');
      if (check.state === 'blocked') {
        throw new AppError('STEP_BLOCKED', `${step.title}: ${check.detail}`, { actions: check.actions, exitCode: check.exitCode ?? ExitCode.FAILED });
      }
      let outcome: StepOutcome = 'adopted';
      if (check.state === 'pending') {
        outcome = 'verified';
        rec.status = 'applying';
        rec.attempts += 1;
        rec.startedAt = now();
        delete rec.error;
        this.save();
        log.debug({ attempt: rec.attempts }, 'applying');
        await step.apply(ctx);
        rec.status = 'applied';
        this.save();
      }
      const verify = await step.verify(ctx);
      log.debug({ ok: verify.ok, detail: scrub(verify.detail) }, 'step verified');
      if (!verify.ok) {
        throw new AppError('VERIFY_FAILED', `${step.title}: ${verify.detail}`, { actions: verify.actions, exitCode: ExitCode.FAILED });
      }
      rec.status = 'verified';
      rec.finishedAt = now();
      rec.detail = check.state === 'satisfied' && check.detail !== verify.detail ? `${check.detail}; ${verify.detail}` : verify.detail;
      delete rec.error;
      this.save();
      log.debug({ outcome, durationMs: Date.now() - started }, 'step done');
      return done(outcome, rec.detail);
    } catch (err) {
      if (isAbort(err, base.signal)) {
        // Leave the record as it is ("applying" if apply had started): the next run re-checks it.
        log.debug({ durationMs: Date.now() - started }, 'step interrupted');
        return done('interrupted', 'interrupted');
      }
      const appErr = toAppError(err, 'STEP_FAILED');
      this.lastError = appErr;
      // A failed step is re-checked on the next run like any other, so "failed" loses nothing.
      rec.status = 'failed';
      rec.error = { code: appErr.code, message: appErr.message, at: now() };
      rec.finishedAt = now();
      this.save();
      log.debug({ code: appErr.code, exitCode: appErr.exitCode, err: scrub(appErr.message), durationMs: Date.now() - started }, 'step failed');
      return { ...done('failed', appErr.message), error: appErr.toJSON() };
    }
  }

  /** Dry run: asks each selected step for its plan; reads the state but never writes or locks it. */
  async plan(): Promise<PlanResult> {
    const selected = selectSteps(this.options.steps, this.options.selection);
    this.state = loadState(this.options.store);
    const out: PlanResult = { steps: [] };
    for (const step of selected) {
      const ctx = this.contextFor(step);
      const readOnlyCtx: StepContext = {
        ...ctx,
        record: async () => {
          throw new AppError('DRY_RUN_WRITE', `${step.id} tried to record state during a dry run.`);
        },
      };
      try {
        out.steps.push({ id: step.id, title: step.title, actions: await step.plan(readOnlyCtx) });
      } catch (err) {
        out.steps.push({ id: step.id, title: step.title, actions: [], error: toAppError(err).message });
      }
    }
    return out;
  }

  /** The current state (after run() or plan()). */
  get snapshot(): FailbackState {
    return this.state;
  }
}
