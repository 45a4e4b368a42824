/**
 * The live task list for a run in a terminal, and the ONLY module that imports listr2. The Runner
 * drives the steps; listr only draws them: each listr task waits for its step's end event, and shows
 * the step's StepUi.progress as live output. Steps that never ran (after a failure or Ctrl-C) end as
 * skipped, so the final list always shows every selected step.
 */
import { Listr, PRESET_TIMER, type ListrDefaultRenderer, type ListrSimpleRenderer, type ListrTaskWrapper } from 'listr2';
import type { StepId } from './config.js';
import { MessageBook, outcomeLabel, type RunRenderer, type StepMessage } from './render-plain.js';
import type { RunResult, StepResult } from './runner.js';
import type { Step } from './step.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  settled: boolean;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  const d: Deferred<T> = {
    promise,
    settled: false,
    resolve(v) {
      if (d.settled) return;
      d.settled = true;
      resolve(v);
    },
  };
  return d;
}

// listr2 9.0.5's DefaultRenderer has no public pause. These are the private members it draws with;
// the version is pinned, and suspend() degrades to a no-op if they are ever missing.
interface RendererInternals {
  spinner?: { stop(): void; start(cb: () => void, interval?: number): void };
  updater?: { clear(): void };
  logger?: { process?: { hijack(): void; release(): void } };
  update?: () => void;
}

type Task = ListrTaskWrapper<unknown, ListrDefaultRenderer, ListrSimpleRenderer>;

export interface ListrRendererOptions {
  scrub?: (text: string) => string;
}

export class ListrRenderer implements RunRenderer {
  private readonly book = new MessageBook();
  private readonly scrub: (t: string) => string;
  private readonly ends = new Map<StepId, Deferred<StepResult | undefined>>();
  private readonly tasks = new Map<StepId, Task>();
  private readonly latest = new Map<StepId, string>();
  private steps: readonly Step[] = [];
  private listr?: Listr<unknown, 'default', 'simple'>;
  private drawing?: Promise<void>;

  constructor(options: ListrRendererOptions = {}) {
    this.scrub = options.scrub ?? ((t) => t);
  }

  get messages(): ReadonlyMap<StepId, readonly StepMessage[]> {
    return this.book.map;
  }

  begin(steps: readonly Step[]): void {
    this.steps = steps;
    for (const s of steps) this.ends.set(s.id, deferred());
  }

  /** Starts drawing at the first step, so an early error (lock held) prints no empty task list. */
  private start(): void {
    if (this.drawing) return;
    this.listr = new Listr<unknown, 'default', 'simple'>(
      this.steps.map((step) => ({
        title: step.title,
        task: (_ctx: unknown, task: Task) => this.follow(step, task),
      })),
      {
        concurrent: false,
        // The Runner decides what runs after a failure; listr must keep drawing the rest as skipped.
        exitOnError: false,
        // SIGINT belongs to the session (abort, save, exit 130); listr's own handler would exit 127.
        registerSignalListeners: false,
        rendererOptions: { timer: PRESET_TIMER, collapseErrors: false, showErrorMessage: true },
        fallbackRenderer: 'simple',
        fallbackRendererCondition: () => !process.stdout.isTTY || (process.stdout.columns ?? 0) === 0,
      },
    );
    this.drawing = this.listr.run().then(
      () => undefined,
      () => undefined,
    );
  }

  private async follow(step: Step, task: Task): Promise<void> {
    this.tasks.set(step.id, task);
    const last = this.latest.get(step.id);
    if (last) task.output = last;
    const result = await (this.ends.get(step.id) as Deferred<StepResult | undefined>).promise;
    this.tasks.delete(step.id);
    if (!result || result.outcome === 'not-run') {
      task.skip(`${step.title} (not run)`);
      return;
    }
    if (result.outcome === 'interrupted') {
      task.skip(`${step.title} (interrupted: run again to resume)`);
      return;
    }
    if (result.outcome === 'failed') throw new Error(this.scrub(result.detail ?? 'failed'));
    task.title = `${step.title} (${outcomeLabel(result)})`;
  }

  private show(id: StepId, text: string): void {
    const shown = this.scrub(text);
    this.latest.set(id, shown);
    const task = this.tasks.get(id);
    if (task) task.output = shown;
  }

  stepStart(): void {
    this.start();
  }

  stepProgress(step: Step, message: string): void {
    this.show(step.id, message);
  }

  stepInfo(step: Step, message: string, level: 'info' | 'warn'): void {
    this.book.add(step.id, { level, text: this.scrub(message) });
    this.show(step.id, level === 'warn' ? `WARNING: ${message}` : message);
  }

  stepEnd(step: Step, result: StepResult): void {
    this.ends.get(step.id)?.resolve(result);
  }

  async end(result?: RunResult): Promise<void> {
    const byId = new Map(result?.results.map((r) => [r.id, r]) ?? []);
    for (const [id, d] of this.ends) d.resolve(byId.get(id));
    await this.drawing;
  }

  suspend(): () => void {
    const r = (this.listr as unknown as { renderer?: RendererInternals } | undefined)?.renderer;
    const out = r?.logger?.process;
    if (!r || !r.spinner || !r.updater || !out) return () => undefined;
    r.spinner.stop();
    r.updater.clear();
    // Shadow update() on the instance so refresh events draw nothing while the prompt is up.
    r.update = () => undefined;
    out.release();
    const redraw = () => (r as RendererInternals).update?.();
    return () => {
      out.hijack();
      delete r.update;
      r.spinner?.start(redraw);
      redraw();
    };
  }
}
