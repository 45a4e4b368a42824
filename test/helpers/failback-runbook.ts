/**
 * The end-to-end runbook scenario shared by the PostgreSQL and MariaDB test files: the wizard through
 * the CLI (`run --yes --json`) takes the failback from nothing to verified, then a seeded random
 * workload (inserts, updates, deletes across employees, payments and orders, in multi-statement
 * transactions) runs on CockroachDB while the engine replicates, and at the end `verify` finds every
 * target table equal to CockroachDB. A second run finds everything in place, and in a terminal `run`
 * offers the same comparison once delivery is proven.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { STEP_IDS } from '../../src/steps/config.js';
import { describeRun, parseJson } from './cli.js';
import { startFailbackBed, type FailbackBed } from './failback-bed.js';
import { PtySession } from './pty.js';

interface RunJson {
  ok: boolean;
  results: Array<{ id: string; outcome: string }>;
}

interface VerifyJson {
  verdict: string;
  tables: Array<{ table: string; verdict: string; rows: { source: number; target: number } }>;
}

export function fullRunbookScenario(target: 'postgres' | 'mariadb', seed: number): void {
  let bed: FailbackBed;

  before(async () => {
    bed = await startFailbackBed({ prefix: `fb_runbook_${target}`, target, seed });
  });
  after(async () => {
    await bed?.close();
  });

  test(`run --yes --json verifies all ten steps against a ${target} target`, async () => {
    const r = await bed.run();
    assert.equal(r.code, 0, describeRun(r));
    const out = parseJson<RunJson>(r);
    assert.equal(out.ok, true);
    assert.deepEqual(out.results.map((x) => x.id), [...STEP_IDS]);
    for (const x of out.results) assert.ok(x.outcome === 'verified' || x.outcome === 'adopted', `${x.id}: ${x.outcome}`);
    assert.equal(await bed.forward.exited, 0, 'stop-forward ended the forward replicator with SIGTERM');
    assert.equal((await bed.jobs()).length, 1, 'one changefeed');
    assert.equal(bed.enginePids().length, 1, 'one engine');
  });

  test(`a seeded random workload during replication converges: every ${target} table equals CockroachDB`, async () => {
    const stats = await bed.workload({ transactions: 240, rate: 60 });
    assert.equal(stats.transactions, 240);
    assert.ok(stats.inserts > 0 && stats.updates > 0 && stats.deletes > 0, JSON.stringify(stats));
    await bed.catchUp();
    const v = await bed.verify();
    assert.equal(v.code, 0, describeRun(v));
    const report = parseJson<VerifyJson>(v);
    assert.equal(report.verdict, 'equal');
    const counts = Object.fromEntries(report.tables.map((t) => [t.table, t.rows]));
    const model = bed.model.counts;
    assert.deepEqual(counts, {
      employees: { source: model.employees, target: model.employees },
      payments: { source: model.payments, target: model.payments },
      orders: { source: model.orders, target: model.orders },
    });
  });

  test('a second run adopts everything: still one changefeed and one engine', async () => {
    const r = await bed.run();
    assert.equal(r.code, 0, describeRun(r));
    const out = parseJson<RunJson>(r);
    const byId = Object.fromEntries(out.results.map((x) => [x.id, x.outcome]));
    assert.equal(byId['start-replicator'], 'adopted');
    assert.equal(byId['create-changefeed'], 'adopted');
    assert.equal((await bed.jobs()).length, 1);
    assert.equal(bed.enginePids().length, 1);
  });

  test('in a terminal, run offers the table comparison once delivery is proven, and it finds the tables equal', async () => {
    const pty = new PtySession(['run'], { env: bed.env, cwd: bed.dir, cols: 120, rows: 40 });
    try {
      let at = await pty.waitFor('Proceed with 10 steps?', 60_000);
      pty.write('y\r');
      at = await pty.waitFor('Compare every table between CockroachDB and the target now', 120_000, at);
      pty.write('y\r');
      await pty.waitFor(/Verdict: EQUAL/, 120_000, at);
      assert.equal(await pty.exit(30_000), 0, pty.text);
    } finally {
      pty.kill();
    }
  });
}
