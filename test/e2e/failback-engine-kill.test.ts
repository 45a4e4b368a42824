/**
 * The engine killed with SIGKILL in the middle of the stream, twice, while a seeded workload keeps
 * writing on (emulated) CockroachDB: once restarted with `step start-replicator`, once by re-running the
 * whole wizard. The changefeed re-sends what was not acknowledged, staging keeps what was, and the real
 * PostgreSQL target still ends up equal to CockroachDB, with one engine and one changefeed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { describeRun, parseJson } from '../helpers/cli.js';
import { killAll, startFailbackBed, type FailbackBed } from '../helpers/failback-bed.js';

let bed: FailbackBed;

before(async () => {
  bed = await startFailbackBed({ prefix: 'fb_engine_kill', target: 'postgres', seed: 4004 });
});
after(async () => {
  await bed?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function killEngine(): Promise<number> {
  const [pid, ...others] = bed.enginePids();
  assert.ok(pid !== undefined && others.length === 0, `one engine runs before the kill: ${bed.enginePids().join(', ')}`);
  killAll([pid]);
  for (let i = 0; i < 100 && bed.enginePids().includes(pid); i++) await sleep(50);
  assert.deepEqual(bed.enginePids(), [], 'the engine is gone');
  return pid;
}

/** Waits until the workload has committed at least `n` transactions. */
async function committed(progress: { n: number }, n: number): Promise<void> {
  for (let i = 0; i < 600 && progress.n < n; i++) await sleep(50);
  assert.ok(progress.n >= n, `the workload reached ${n} transactions (it is at ${progress.n})`);
}

/** The kills must land while the workload still writes: otherwise the test proves nothing about mid-stream loss. */
function assertMidStream(progress: { n: number }, total: number): void {
  assert.ok(progress.n < total, `the workload is still running at the kill (${progress.n}/${total} transactions)`);
}

test('SIGKILL the engine mid-stream twice, restart it through the wizard: no loss', async () => {
  const first = await bed.run();
  assert.equal(first.code, 0, describeRun(first));

  const progress = { n: 0 };
  const total = 600;
  const workload = bed.workload({ transactions: total, rate: 40, onCommit: (s) => (progress.n = s.transactions) });
  try {
    await committed(progress, 80);
    assertMidStream(progress, total);
    const killed1 = await killEngine();
    // Writes continue while no engine runs: they wait in the changefeed (it retries with backoff).
    await committed(progress, 120);
    const step = await bed.cli(['step', 'start-replicator', '--yes', '--json']);
    assert.equal(step.code, 0, describeRun(step));
    const restarted = bed.enginePids();
    assert.equal(restarted.length, 1, 'one engine after the restart');
    assert.notEqual(restarted[0], killed1);

    await committed(progress, 220);
    assertMidStream(progress, total);
    await killEngine();
    await committed(progress, 250);
    const again = await bed.run();
    assert.equal(again.code, 0, describeRun(again));
    const outcomes = Object.fromEntries(parseJson<{ results: Array<{ id: string; outcome: string }> }>(again).results.map((x) => [x.id, x.outcome]));
    assert.equal(outcomes['start-replicator'], 'verified', 'the wizard noticed the dead engine and started a new one');
    assert.equal(outcomes['create-changefeed'], 'adopted', 'and kept the changefeed');
  } finally {
    await workload;
  }
  assert.equal(bed.enginePids().length, 1);
  assert.equal((await bed.jobs()).length, 1);

  await bed.catchUp();
  const v = await bed.verify();
  assert.equal(v.code, 0, describeRun(v));
  assert.equal(parseJson<{ verdict: string }>(v).verdict, 'equal');
});
