/**
 * Small in-memory steps for runner tests: each one has a "system" flag that apply sets, so check,
 * verify, crashes and resumes can be scripted without any database.
 */
import type { FailbackConfig, StepId } from '../../src/steps/config.js';
import { STEP_IDS } from '../../src/steps/config.js';
import type { BaseContext } from '../../src/steps/runner.js';
import type { StepServices } from '../../src/steps/services.js';
import type { CheckResult, PlannedAction, Step, StepContext, StepUi, VerifyResult } from '../../src/steps/step.js';
import { silentLogger } from '../../src/lib/log.js';

export interface FakeWorld {
  /** Which steps' side effects exist in the fake system. */
  done: Set<StepId>;
  calls: string[];
}

export interface FakeStepOptions {
  /** Throw from apply (after the side effect when `afterEffect`). */
  failApply?: { message: string; afterEffect?: boolean };
  /** Wait in apply until the signal aborts (after the side effect when `afterEffect`). */
  hangApply?: { afterEffect?: boolean };
  blocked?: string;
  /** Outputs recorded by apply. */
  record?: Record<string, string | number>;
  /** When set, verify fails with this text. */
  failVerify?: string;
  /** Planned actions (for dry runs). */
  actions?: PlannedAction[];
}

export function fakeStep(id: StepId, world: FakeWorld, opts: FakeStepOptions = {}): Step {
  return {
    id,
    title: `Fake ${id}`,
    description: `A fake ${id} step for tests.`,
    async check(): Promise<CheckResult> {
      world.calls.push(`${id}:check`);
      if (opts.blocked) return { state: 'blocked', detail: opts.blocked, actions: ['unblock it'] };
      return world.done.has(id) ? { state: 'satisfied', detail: 'already there' } : { state: 'pending', detail: 'missing' };
    },
    async apply(ctx: StepContext): Promise<void> {
      world.calls.push(`${id}:apply`);
      const effect = async () => {
        world.done.add(id);
        if (opts.record) await ctx.record(opts.record);
      };
      if (opts.failApply) {
        if (opts.failApply.afterEffect) await effect();
        throw new Error(opts.failApply.message);
      }
      if (opts.hangApply) {
        if (opts.hangApply.afterEffect) await effect();
        await new Promise<void>((_resolve, reject) => {
          const stop = () => {
            const e = new Error('aborted');
            e.name = 'AbortError';
            reject(e);
          };
          if (ctx.signal.aborted) stop();
          ctx.signal.addEventListener('abort', stop, { once: true });
        });
        return;
      }
      ctx.ui.progress(`applying ${id}`);
      await effect();
    },
    async verify(): Promise<VerifyResult> {
      world.calls.push(`${id}:verify`);
      if (opts.failVerify) return { ok: false, detail: opts.failVerify };
      return world.done.has(id) ? { ok: true, detail: `${id} in place` } : { ok: false, detail: `${id} missing` };
    },
    async plan(ctx: StepContext): Promise<PlannedAction[]> {
      world.calls.push(`${id}:plan`);
      if (opts.record) await ctx.record(opts.record);
      return opts.actions ?? [{ kind: 'sql', target: 'CockroachDB', text: `SELECT '${id}'` }];
    },
  };
}

export function fakeRunbook(world: FakeWorld, overrides: Partial<Record<StepId, FakeStepOptions>> = {}, ids: readonly StepId[] = STEP_IDS): Step[] {
  return ids.map((id) => fakeStep(id, world, overrides[id]));
}

export const newWorld = (): FakeWorld => ({ done: new Set(), calls: [] });

export function fakeBase(signal: AbortSignal = new AbortController().signal): BaseContext {
  return {
    config: {} as FailbackConfig,
    stateDir: '/nonexistent',
    log: silentLogger(),
    signal,
    services: {} as StepServices,
    options: { yes: true, interactive: false, dryRun: false },
  };
}

export const quietUi = (): StepUi => ({
  progress() {},
  info() {},
  warn() {},
  async confirm() {
    return true;
  },
});
