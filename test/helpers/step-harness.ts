/**
 * A test bed for runbook steps: a validated config from the settings table's defaults plus overrides,
 * an in-memory state store, a StepContext built the way the Runner builds it (record() writes the
 * state), a UI that records every message and answers confirmations from a script, and the real
 * Runner for end-to-end step runs. `ctx(step, { discardRecords: true })` simulates a crash between a
 * step's side effect and its state write.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/lib/log.js';
import { FAILBACK_SETTINGS, FailbackConfigSchema, type FailbackConfig, type StepId } from '../../src/steps/config.js';
import { Runner, type RunResult, type Selection } from '../../src/steps/runner.js';
import type { StepServices } from '../../src/steps/services.js';
import { emptyState, emptyStepRecord, type FailbackState } from '../../src/steps/state/schema.js';
import { MemoryStateStore } from '../../src/steps/state/store.js';
import type { Outputs, RunOptions, Step, StepContext, StepUi } from '../../src/steps/step.js';
import { stepUiFactory, type UiMode } from '../../src/steps/ui.js';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

function setPath(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) cur = (cur[p] ??= {}) as Record<string, unknown>;
  cur[parts[parts.length - 1] as string] = value;
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && a[k] && typeof a[k] === 'object' ? merge(a[k] as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/** The settings table's defaults, placeholder required values, then `overrides`; validated with zod. */
export function testConfig(overrides: DeepPartial<FailbackConfig> = {}): FailbackConfig {
  const base: Record<string, unknown> = {};
  for (const d of FAILBACK_SETTINGS) if (d.default !== undefined) setPath(base, d.key, d.default);
  setPath(base, 'crdb.conn', 'postgres://root@127.0.0.1:26257/defaultdb');
  setPath(base, 'target.conn', 'postgres://postgres@127.0.0.1:5432/postgres');
  setPath(base, 'tables', ['employees']);
  return FailbackConfigSchema.parse(merge(base, overrides as Record<string, unknown>));
}

export interface Message {
  step: StepId;
  level: 'progress' | 'info' | 'warn' | 'confirm';
  text: string;
}

export interface BedOptions {
  config: FailbackConfig;
  services: StepServices;
  stateDir?: string;
  /** yes (default), interactive (answers from `answers`), or non-interactive. */
  mode?: UiMode;
  answers?: boolean[];
  signal?: AbortSignal;
}

export class TestBed {
  readonly store = new MemoryStateStore();
  readonly messages: Message[] = [];
  readonly stateDir: string;
  readonly config: FailbackConfig;
  readonly services: StepServices;
  private readonly ownDir: boolean;
  private readonly answers: boolean[];
  private readonly mode: UiMode;
  private readonly signal: AbortSignal;

  constructor(o: BedOptions) {
    this.config = o.config;
    this.services = o.services;
    this.ownDir = o.stateDir === undefined;
    this.stateDir = o.stateDir ?? mkdtempSync(join(tmpdir(), 'molt-failback-steps-'));
    this.mode = o.mode ?? 'yes';
    this.answers = [...(o.answers ?? [])];
    this.signal = o.signal ?? new AbortController().signal;
  }

  get runOptions(): RunOptions {
    return { yes: this.mode === 'yes', interactive: this.mode === 'interactive', dryRun: false };
  }

  private listener() {
    return {
      stepProgress: (step: Step, text: string) => this.messages.push({ step: step.id, level: 'progress', text }),
      stepInfo: (step: Step, text: string, level: 'info' | 'warn') => this.messages.push({ step: step.id, level, text }),
    };
  }

  uiFactory(): (step: Step) => StepUi {
    return stepUiFactory({
      mode: this.mode,
      listener: this.listener(),
      ask: async (message) => {
        const a = this.answers.shift();
        if (a === undefined) throw new Error(`unexpected prompt: ${message}`);
        this.messages.push({ step: 'preflight', level: 'confirm', text: `${message} -> ${a}` });
        return a;
      },
    });
  }

  state(): FailbackState {
    return this.store.read() ?? emptyState();
  }

  outputs(id: StepId): Outputs {
    return (this.state().steps[id]?.outputs ?? {}) as Outputs;
  }

  /** Replaces a step's outputs (e.g. to drop them, as a lost state write would). */
  setOutputs(id: StepId, outputs: Outputs | undefined): void {
    const s = this.state();
    if (outputs === undefined) delete s.steps[id];
    else s.steps[id] = { ...(s.steps[id] ?? emptyStepRecord()), outputs: { ...outputs } };
    this.store.write(s);
  }

  /** A context like the Runner's; with discardRecords, record() succeeds but writes nothing (a crash before the state write). */
  ctx(step: Step, options: { discardRecords?: boolean } = {}): StepContext {
    return {
      config: this.config,
      stateDir: this.stateDir,
      log: silentLogger(),
      signal: this.signal,
      services: this.services,
      options: this.runOptions,
      ui: this.uiFactory()(step),
      outputs: (id) => this.outputs(id),
      record: async (values) => {
        if (options.discardRecords) return;
        const s = this.state();
        const rec = s.steps[step.id] ?? emptyStepRecord();
        rec.outputs = { ...rec.outputs, ...values };
        s.steps[step.id] = rec;
        this.store.write(s);
      },
    };
  }

  /** Runs steps with the real Runner against this bed's store. */
  async run(steps: readonly Step[], selection?: Selection): Promise<RunResult> {
    const runner = new Runner({
      steps,
      store: this.store,
      base: { config: this.config, stateDir: this.stateDir, log: silentLogger(), signal: this.signal, services: this.services, options: this.runOptions },
      ui: this.uiFactory(),
      selection: selection ?? { only: steps.map((s) => s.id) },
    });
    return runner.run();
  }

  texts(level?: Message['level']): string[] {
    return this.messages.filter((m) => !level || m.level === level).map((m) => m.text);
  }

  async close(): Promise<void> {
    await this.services.close();
    if (this.ownDir) rmSync(this.stateDir, { recursive: true, force: true });
  }
}

/** Asserts a run verified every step; otherwise throws with the errors (helps when a test fails). */
export function assertRunOk(result: RunResult): void {
  if (result.exitCode !== 0) {
    throw new Error(`run failed (exit ${result.exitCode}): ${JSON.stringify(result.results.map((r) => ({ id: r.id, outcome: r.outcome, detail: r.detail, error: r.error })), null, 2)}`);
  }
}
