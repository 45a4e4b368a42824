/**
 * Text and JSON shapes of what the wizard's commands show: the plan before a run, a dry run's
 * actions, a run's summary and step lists. Pure functions from data to text, so commands stay thin
 * and the shapes are testable; every text passes through the caller's scrubber before it is shown.
 */
import { ExitCode } from '../lib/errors.js';
import type { StepId } from './config.js';
import { formatDuration, outcomeLabel, type StepMessage } from './render-plain.js';
import type { PlanResult, RunResult } from './runner.js';
import type { FailbackState, StepRecord } from './state/schema.js';
import type { PlannedAction, Step } from './step.js';

/** A step's recorded state in a few words, saying what the next run will do with it. */
export function describeRecord(rec: StepRecord | undefined): string {
  if (!rec) return 'not started';
  switch (rec.status) {
    case 'pending':
      return 'not started';
    case 'applying':
      return 'interrupted while applying (will be re-checked)';
    case 'applied':
      return 'applied, not yet verified (will be re-checked)';
    case 'verified':
      return `verified${rec.finishedAt ? ` at ${rec.finishedAt}` : ''} (will be re-checked)`;
    case 'failed':
      return `failed${rec.error ? ` (${rec.error.code}: ${firstLine(rec.error.message)})` : ''}`;
    default:
      return String(rec.status);
  }
}

const firstLine = (text: string) => text.split('\n')[0] ?? '';

function wrap(text: string, indent: string, width = 100): string[] {
  const words = text.split(/\s+/).filter((w) => w.length > 0);
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && indent.length + cur.length + 1 + w.length > width) {
      lines.push(indent + cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(indent + cur);
  return lines;
}

/** The overview shown before a run asks to proceed: each selected step, its state and what it does. */
export function renderPlanOverview(steps: readonly Step[], state: FailbackState | undefined, stateFile: string): string {
  const lines = [`Plan (${steps.length} step${steps.length === 1 ? '' : 's'}; state: ${stateFile}${state ? '' : ', new'}):`];
  steps.forEach((s, i) => {
    lines.push(`  ${i + 1}. ${s.id}: ${s.title} [${describeRecord(state?.steps[s.id])}]`);
    lines.push(...wrap(s.description, '       '));
  });
  lines.push('Each step checks the real systems first and changes only what is not already in place.');
  return lines.join('\n');
}

function actionLine(a: PlannedAction): string {
  const label = a.kind.toUpperCase().padEnd(7);
  const when = a.when ? ` (${a.when})` : '';
  const [first, ...rest] = a.text.split('\n');
  return [`    ${label} -> ${a.target}${when}: ${first ?? ''}`, ...rest.map((l) => `              ${l}`)].join('\n');
}

/** The dry run: every action each selected step would perform, in order. */
export function renderDryRun(plan: PlanResult, state: FailbackState | undefined): string {
  const lines = ['Dry run: nothing was changed (no SQL was executed, no process started, no state written).'];
  plan.steps.forEach((s, i) => {
    lines.push(`${i + 1}. ${s.id}: ${s.title} [${describeRecord(state?.steps[s.id])}]`);
    if (s.error) lines.push(`    could not plan: ${s.error}`);
    else if (s.actions.length === 0) lines.push('    nothing to do');
    for (const a of s.actions) lines.push(actionLine(a));
  });
  return lines.join('\n');
}

/**
 * A dry run's command outcome: the plan as text and JSON, and exit 1 when a step could not say what it
 * would do (it would fail for real too), 0 otherwise.
 */
export function dryRunOutcome(plan: PlanResult, state: FailbackState | undefined): { result: ReturnType<typeof dryRunJson>; human: string; exitCode: number } {
  const unplanned = plan.steps.some((s) => s.error !== undefined);
  return { result: dryRunJson(plan, state), human: renderDryRun(plan, state), exitCode: unplanned ? ExitCode.FAILED : ExitCode.OK };
}

export function dryRunJson(plan: PlanResult, state: FailbackState | undefined) {
  return {
    dryRun: true,
    steps: plan.steps.map((s) => ({ ...s, state: state?.steps[s.id]?.status ?? 'pending' })),
  };
}

/** The closing summary of a run: one line per selected step, messages, then what to do next. */
export function renderRunSummary(result: RunResult, messages: ReadonlyMap<StepId, readonly StepMessage[]>, next: readonly string[]): string {
  const lines = ['', 'Summary:'];
  for (const r of result.results) {
    lines.push(`  ${outcomeLabel(r).padEnd(12)} ${r.id}${r.outcome === 'not-run' ? '' : ` (${formatDuration(r.durationMs)})`}${r.detail && r.outcome !== 'interrupted' ? `: ${firstLine(r.detail)}` : ''}`);
    for (const m of messages.get(r.id) ?? []) lines.push(`               ${m.level === 'warn' ? 'WARNING: ' : ''}${m.text}`);
  }
  if (next.length > 0) {
    lines.push('', 'Next:');
    for (const n of next) lines.push(`  - ${n}`);
  }
  return lines.join('\n');
}

export function runJson(result: RunResult, messages: ReadonlyMap<StepId, readonly StepMessage[]>, next: readonly string[], stateFile: string) {
  return {
    ok: result.exitCode === 0,
    exitCode: result.exitCode,
    stateFile,
    results: result.results.map((r) => ({ ...r, messages: messages.get(r.id) ?? [] })),
    error: result.error ? result.error.toJSON() : null,
    nextActions: next,
  };
}

/** `step --list`: ids, titles and descriptions, in runbook order. */
export function renderStepList(steps: readonly Step[]): string {
  const lines: string[] = [];
  steps.forEach((s, i) => {
    lines.push(`${String(i + 1).padStart(2)}. ${s.id.padEnd(24)} ${s.title}`);
    lines.push(...wrap(s.description, '    '));
  });
  return lines.join('\n');
}
