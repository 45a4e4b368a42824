/**
 * Crash safety of the whole wizard through the CLI: `run --yes --json` is killed with SIGKILL (no chance
 * to save anything) during each of the ten steps in turn, at varying moments inside the step, and run
 * again each time. Every re-run resumes from the state file; at the end the failback completes with
 * exactly one changefeed job on the (emulated) CockroachDB and one engine process for this state
 * folder, and a seeded workload still arrives intact on a real PostgreSQL target.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { STEP_IDS } from '../../src/steps/config.js';
import { describeRun, parseJson } from '../helpers/cli.js';
import { startFailbackBed, type FailbackBed } from '../helpers/failback-bed.js';

let bed: FailbackBed;

before(async () => {
  bed = await startFailbackBed({ prefix: 'fb_resume', target: 'postgres', seed: 3003 });
});
after(async () => {
  await bed?.close();
});

// How long after a step announces itself the wizard is killed: from "at once" to well inside the
// step's apply (the engine starting, the drain waiting, the monitor polling).
const DELAY_MS = [0, 60, 20, 300, 600, 30, 800, 15, 40, 500];

test('SIGKILL during each step in turn: every re-run resumes, and nothing is ever doubled', async (t) => {
  const killedIn: string[] = [];
  for (const [i, id] of STEP_IDS.entries()) {
    const marker = `[${i + 1}/${STEP_IDS.length}] ${id}:`;
    let seen = false;
    const r = await bed.run([], {
      onSpawn: (child) => {
        let buf = '';
        child.stderr?.on('data', (d: Buffer) => {
          buf += d.toString();
          if (!seen && buf.includes(marker)) {
            seen = true;
            setTimeout(() => child.kill('SIGKILL'), DELAY_MS[i]);
          }
        });
      },
    });
    assert.ok(seen, `the run reached ${id}:\n${describeRun(r)}`);
    if (r.signal === 'SIGKILL') killedIn.push(id);
    else {
      // The run finished before the kill landed (a fast last step): it must then have succeeded.
      assert.equal(r.code, 0, `${id}: ${describeRun(r)}`);
    }
    const jobs = await bed.jobs();
    assert.ok(jobs.length <= 1, `after a kill in ${id}: ${JSON.stringify(jobs)}`);
    assert.ok(bed.enginePids().length <= 1, `after a kill in ${id}: engines ${bed.enginePids().join(', ')}`);
  }

  t.diagnostic(`killed during: ${killedIn.join(', ')}`);
  // A kill can only miss when a step (and every step after it) finished within its delay.
  assert.ok(killedIn.length >= STEP_IDS.length - 2, `most runs were really killed: ${killedIn.join(', ')}`);

  const r = await bed.run();
  assert.equal(r.code, 0, describeRun(r));
  const out = parseJson<{ ok: boolean; results: Array<{ id: string; outcome: string }> }>(r);
  assert.equal(out.ok, true);
  for (const x of out.results) assert.ok(x.outcome === 'verified' || x.outcome === 'adopted', `${x.id}: ${x.outcome}`);
  const jobs = await bed.jobs();
  assert.equal(jobs.length, 1, `exactly one changefeed job was ever created: ${JSON.stringify(jobs)}`);
  assert.equal(jobs[0]?.status, 'running');
  assert.equal(bed.enginePids().length, 1, 'exactly one engine');
  assert.equal(bed.state().steps['start-replicator']?.outputs.pid, bed.enginePids()[0], 'the state names the running engine');
});

test('after all those crashes the failback still replicates everything', async () => {
  await bed.workload({ transactions: 120, rate: 60 });
  await bed.catchUp();
  const v = await bed.verify();
  assert.equal(v.code, 0, describeRun(v));
  assert.equal(parseJson<{ verdict: string }>(v).verdict, 'equal');
});
