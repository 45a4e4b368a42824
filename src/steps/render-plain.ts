/**
 * Line-per-event rendering of a run, for logs and CI (stdout is not a terminal) and for --json runs
 * (then on stderr, since stdout carries the JSON result). Progress lines are throttled so a step that
 * polls every second does not flood a CI log. Also defines what every run renderer offers the command.
 */
import type { StepId } from './config.js';
import type { RunResult, RunnerListener, StepResult } from './runner.js';
import type { Step } from './step.js';

export interface StepMessage {
  level: 'info' | 'warn';
  text: string;
}

/** What `run` and `step` need from a renderer, live or plain. */
export interface RunRenderer extends RunnerListener {
  /** Call before Runner.run() with the selected steps. */
  begin(steps: readonly Step[]): void;
  /** Call once the runner returned (or threw: then without a result). */
  end(result?: RunResult): Promise<void>;
  /** Stops live drawing while a prompt is up; returns the function that resumes it. */
  suspend(): () => void;
  /** info/warn lines each step produced, for the summary and the JSON result. */
  readonly messages: ReadonlyMap<StepId, readonly StepMessage[]>;
}

export interface RendererOptions {
  /** Where lines go. */
  out: NodeJS.WritableStream;
  /** Last-line-of-defence secret scrubbing of every text shown. */
  scrub?: (text: string) => string;
  /** Minimum time between two progress lines of one step (ms). */
  progressEveryMs?: number;
  now?: () => number;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m${Math.round((ms % 60_000) / 1000)}s`;
}

/** One word per outcome, shared by every rendering of results. */
export function outcomeLabel(r: StepResult): string {
  switch (r.outcome) {
    case 'verified':
      return 'done';
    case 'adopted':
      return 'already done';
    case 'failed':
      return 'FAILED';
    case 'interrupted':
      return 'interrupted';
    default:
      return 'not run';
  }
}

/** Collects step messages; both renderers keep them for the summary. */
export class MessageBook {
  private readonly book = new Map<StepId, StepMessage[]>();
  add(id: StepId, message: StepMessage): void {
    const list = this.book.get(id) ?? [];
    list.push(message);
    this.book.set(id, list);
  }
  get map(): ReadonlyMap<StepId, readonly StepMessage[]> {
    return this.book;
  }
}

export class PlainRenderer implements RunRenderer {
  private readonly book = new MessageBook();
  private readonly scrub: (t: string) => string;
  private readonly every: number;
  private readonly now: () => number;
  private readonly lastProgress = new Map<StepId, { at: number; text: string }>();
  private order = new Map<StepId, number>();
  private total = 0;

  constructor(private readonly options: RendererOptions) {
    this.scrub = options.scrub ?? ((t) => t);
    this.every = options.progressEveryMs ?? 2000;
    this.now = options.now ?? Date.now;
  }

  get messages(): ReadonlyMap<StepId, readonly StepMessage[]> {
    return this.book.map;
  }

  private line(text: string): void {
    this.options.out.write(`${this.scrub(text)}\n`);
  }

  begin(steps: readonly Step[]): void {
    this.order = new Map(steps.map((s, i) => [s.id, i + 1]));
    this.total = steps.length;
  }

  stepStart(step: Step): void {
    this.line(`[${this.order.get(step.id) ?? '?'}/${this.total}] ${step.id}: ${step.title}`);
  }

  stepProgress(step: Step, message: string): void {
    const last = this.lastProgress.get(step.id);
    const t = this.now();
    if (last && (last.text === message || t - last.at < this.every)) return;
    this.lastProgress.set(step.id, { at: t, text: message });
    this.line(`    ... ${message}`);
  }

  stepInfo(step: Step, message: string, level: 'info' | 'warn'): void {
    this.book.add(step.id, { level, text: this.scrub(message) });
    this.line(`    ${level === 'warn' ? 'WARNING: ' : ''}${message}`);
  }

  stepEnd(step: Step, result: StepResult): void {
    this.lastProgress.delete(step.id);
    const detail = result.detail ? `: ${result.detail}` : '';
    this.line(`    ${result.outcome === 'failed' ? 'FAILED' : outcomeLabel(result)} in ${formatDuration(result.durationMs)}${detail}`);
  }

  async end(): Promise<void> {
    // Lines are written as they happen: nothing is pending.
  }

  suspend(): () => void {
    return () => undefined;
  }
}
