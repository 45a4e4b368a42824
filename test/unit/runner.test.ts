/**
 * The Runner with fake steps and the in-memory store: order, skip-when-satisfied, resume from a crash
 * mid-apply, failure stopping later steps, interruption (exit 130) and resume, and dry runs that write
 * nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { ExitCode } from '../../src/lib/errors.js';
import { createLogger } from '../../src/lib/log.js';
import { dryRunOutcome } from '../../src/steps/present.js';
import { Runner, type RunnerListener } from '../../src/steps/runner.js';
import { MemoryStateStore } from '../../src/steps/state/store.js';
import { emptyState } from '../../src/steps/state/schema.js';
import type { StateStore } from '../../src/steps/state/store.js';
import type { FailbackState } from '../../src/steps/state/schema.js';
import type { Step } from '../../src/steps/step.js';
import { fakeBase, fakeRunbook, newWorld, quietUi } from '../helpers/fake-steps.js';

const IDS = ['preflight', 'enable-rangefeeds', 'grant-target-privileges'] as const;

function runner(steps: Step[], store: StateStore, extra: Partial<ConstructorParameters<typeof Runner>[0]> = {}) {
  return new Runner({ steps, store, base: fakeBase(), ui: quietUi, ...extra });
}

/** Counts writes and locks, to prove that a dry run does neither. */
class CountingStore extends MemoryStateStore {
  writes = 0;
  locks = 0;
  override write(state: FailbackState): void {
    this.writes += 1;
    super.write(state);
  }
  override lock(): () => void {
    this.locks += 1;
    return super.lock();
  }
}

test('runs every step through check, apply and verify, in order, and records verified', async () => {
  const world = newWorld();
  const store = new MemoryStateStore();
  const result = await runner(fakeRunbook(world, { preflight: { record: { version: 'v1' } } }, IDS), store).run();
  assert.equal(result.exitCode, ExitCode.OK);
  assert.deepEqual(
    result.results.map((r) => [r.id, r.outcome]),
    IDS.map((id) => [id, 'verified']),
  );
  assert.deepEqual(world.calls, IDS.flatMap((id) => [`${id}:check`, `${id}:apply`, `${id}:verify`]));
  const state = store.read();
  for (const id of IDS) assert.equal(state?.steps[id]?.status, 'verified');
  assert.deepEqual(state?.steps.preflight?.outputs, { version: 'v1' });
});

test('a satisfied step is adopted without apply, and a second run applies nothing', async () => {
  const world = newWorld();
  world.done.add('enable-rangefeeds');
  const store = new MemoryStateStore();
  const first = await runner(fakeRunbook(world, {}, IDS), store).run();
  assert.equal(first.results[1]?.outcome, 'adopted');
  assert.ok(!world.calls.includes('enable-rangefeeds:apply'));
  world.calls.length = 0;
  const second = await runner(fakeRunbook(world, {}, IDS), store).run();
  assert.equal(second.exitCode, 0);
  assert.ok(second.results.every((r) => r.outcome === 'adopted'));
  assert.ok(!world.calls.some((c) => c.endsWith(':apply')), 'nothing re-applied');
});

test('resume from "applying" (crash after the side effect) goes back through check, not apply', async () => {
  const world = newWorld();
  world.done.add('preflight');
  world.done.add('enable-rangefeeds'); // the side effect happened, then the process died
  const store = new MemoryStateStore();
  const crashed = emptyState();
  crashed.steps.preflight = { status: 'verified', attempts: 1, outputs: {} };
  crashed.steps['enable-rangefeeds'] = { status: 'applying', attempts: 1, outputs: {} };
  store.write(crashed);
  const result = await runner(fakeRunbook(world, {}, IDS), store).run();
  assert.equal(result.exitCode, 0);
  assert.equal(result.results[1]?.outcome, 'adopted');
  assert.ok(world.calls.includes('enable-rangefeeds:check'));
  assert.ok(!world.calls.includes('enable-rangefeeds:apply'), 'the half-done step is re-checked, not re-applied');
  assert.equal(store.read()?.steps['enable-rangefeeds']?.status, 'verified');
});

test('resume from "applying" when the side effect did not happen applies it', async () => {
  const world = newWorld();
  const store = new MemoryStateStore();
  const crashed = emptyState();
  crashed.steps.preflight = { status: 'applying', attempts: 1, outputs: {} };
  store.write(crashed);
  const result = await runner(fakeRunbook(world, {}, ['preflight']), store).run();
  assert.equal(result.results[0]?.outcome, 'verified');
  assert.deepEqual(world.calls, ['preflight:check', 'preflight:apply', 'preflight:verify']);
  assert.equal(store.read()?.steps.preflight?.attempts, 2);
});

test('a failing step stops the later ones and is recorded with its error', async () => {
  const world = newWorld();
  const store = new MemoryStateStore();
  const ended: string[] = [];
  const listener: RunnerListener = { stepEnd: (s, r) => ended.push(`${s.id}:${r.outcome}`) };
  const result = await runner(fakeRunbook(world, { 'enable-rangefeeds': { failApply: { message: 'permission denied' } } }, IDS), store, { listener }).run();
  assert.equal(result.exitCode, ExitCode.FAILED);
  assert.deepEqual(
    result.results.map((r) => r.outcome),
    ['verified', 'failed', 'not-run'],
  );
  assert.match(result.error?.message ?? '', /permission denied/);
  assert.deepEqual(ended, ['preflight:verified', 'enable-rangefeeds:failed']);
  assert.ok(!world.calls.some((c) => c.startsWith('grant-target-privileges')), 'later steps never start');
  const rec = store.read()?.steps['enable-rangefeeds'];
  assert.equal(rec?.status, 'failed');
  assert.match(rec?.error?.message ?? '', /permission denied/);
  assert.equal(store.read()?.steps['grant-target-privileges'], undefined);
});

test('logs each step at debug level (started, checked, applying, done or failed), scrubbed', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const base = { ...fakeBase(), log: createLogger({ level: 'debug', destination }) };
  const world = newWorld();
  await new Runner({
    steps: fakeRunbook(world, { 'enable-rangefeeds': { failApply: { message: 'denied for postgres://u:hunter2@db/x' } } }, IDS),
    store: new MemoryStateStore(),
    base,
    ui: quietUi,
    scrub: (t) => t.replace('hunter2', '****'),
  }).run();
  const seen = lines.map((l) => `${String(l.step)}:${String(l.msg)}`);
  for (const m of ['preflight:step started', 'preflight:step checked', 'preflight:applying', 'preflight:step done', 'enable-rangefeeds:step failed']) {
    assert.ok(seen.includes(m), `${m} in ${seen.join(', ')}`);
  }
  const failed = lines.find((l) => l.msg === 'step failed');
  assert.equal(failed?.code, 'STEP_FAILED');
  assert.ok(!JSON.stringify(lines).includes('hunter2'), 'scrubbed');
});

test('a blocked check fails with its actions; a failed verify fails the step', async () => {
  const world = newWorld();
  const blocked = await runner(fakeRunbook(world, { preflight: { blocked: 'the target table is missing' } }, IDS), new MemoryStateStore()).run();
  assert.equal(blocked.results[0]?.outcome, 'failed');
  assert.equal(blocked.error?.code, 'STEP_BLOCKED');
  assert.deepEqual(blocked.error?.actions, ['unblock it']);
  const bad = await runner(fakeRunbook(newWorld(), { preflight: { failVerify: 'nothing arrived' } }, IDS), new MemoryStateStore()).run();
  assert.equal(bad.error?.code, 'VERIFY_FAILED');
  assert.equal(bad.exitCode, ExitCode.FAILED);
});

test('an interrupted run exits 130 with the step left "applying", and the next run resumes it', async () => {
  const world = newWorld();
  const store = new MemoryStateStore();
  const controller = new AbortController();
  const steps = fakeRunbook(world, { 'enable-rangefeeds': { hangApply: { afterEffect: true }, record: { jobId: '42' } } }, IDS);
  const r = new Runner({
    steps,
    store,
    base: fakeBase(controller.signal),
    ui: quietUi,
    listener: { stepStart: (s) => s.id === 'enable-rangefeeds' && setTimeout(() => controller.abort(), 20) },
  });
  const result = await r.run();
  assert.equal(result.exitCode, ExitCode.INTERRUPTED);
  assert.equal(result.error?.code, 'INTERRUPTED');
  assert.deepEqual(
    result.results.map((x) => x.outcome),
    ['verified', 'interrupted', 'not-run'],
  );
  const saved = store.read();
  assert.equal(saved?.steps['enable-rangefeeds']?.status, 'applying');
  assert.deepEqual(saved?.steps['enable-rangefeeds']?.outputs, { jobId: '42' }, 'the handle recorded before the interrupt survives');
  // The lock was released: the next run can take it and converges without re-applying.
  world.calls.length = 0;
  const resumed = await runner(fakeRunbook(world, {}, IDS), store).run();
  assert.equal(resumed.exitCode, 0);
  assert.deepEqual(
    resumed.results.map((x) => x.outcome),
    ['adopted', 'adopted', 'verified'],
  );
  assert.ok(!world.calls.includes('enable-rangefeeds:apply'));
  assert.deepEqual(store.read()?.steps['enable-rangefeeds']?.outputs, { jobId: '42' });
});

test('a run aborted before it starts runs nothing and exits 130', async () => {
  const controller = new AbortController();
  controller.abort();
  const world = newWorld();
  const result = await new Runner({ steps: fakeRunbook(world, {}, IDS), store: new MemoryStateStore(), base: fakeBase(controller.signal), ui: quietUi }).run();
  assert.equal(result.exitCode, ExitCode.INTERRUPTED);
  assert.deepEqual(world.calls, []);
});

test('a held lock refuses the run with exit 6', async () => {
  const store = new MemoryStateStore();
  const release = store.lock();
  await assert.rejects(runner(fakeRunbook(newWorld(), {}, IDS), store).run(), (err: Error & { code?: string; exitCode?: number }) => {
    assert.equal(err.code, 'LOCK_HELD');
    assert.equal(err.exitCode, ExitCode.STATE);
    return true;
  });
  release();
});

test('a dry run writes nothing, takes no lock, runs no check or apply, and refuses records', async () => {
  const world = newWorld();
  const store = new CountingStore();
  const existing = emptyState();
  existing.steps.preflight = { status: 'verified', attempts: 1, outputs: { version: 'v1' } };
  store.write(existing);
  store.writes = 0;
  const release = store.lock(); // even with another run holding the lock, a dry run can look
  store.locks = 0;
  const plan = await runner(fakeRunbook(world, { 'enable-rangefeeds': { record: { x: 1 } } }, IDS), store).plan();
  release();
  assert.equal(store.writes, 0);
  assert.equal(store.locks, 0);
  assert.deepEqual(world.calls, IDS.map((id) => `${id}:plan`));
  assert.equal(plan.steps.length, 3);
  assert.deepEqual(plan.steps[0]?.actions, [{ kind: 'sql', target: 'CockroachDB', text: "SELECT 'preflight'" }]);
  assert.match(plan.steps[1]?.error ?? '', /tried to record state during a dry run/);
  assert.deepEqual(store.read(), existing);
  const outcome = dryRunOutcome(plan, store.read());
  assert.equal(outcome.exitCode, ExitCode.FAILED, 'a step that could not plan makes the dry run fail');
  assert.match(outcome.human, /could not plan: .*tried to record state/);
  assert.equal(dryRunOutcome({ steps: plan.steps.filter((s) => !s.error) }, store.read()).exitCode, ExitCode.OK);
});

test('run honours the selection', async () => {
  const world = newWorld();
  const result = await runner(fakeRunbook(world), new MemoryStateStore(), { selection: { from: 'stop-forward', to: 'fetch-cursor' } }).run();
  assert.deepEqual(
    result.results.map((r) => r.id),
    ['stop-forward', 'start-replicator', 'fetch-cursor'],
  );
});
