/**
 * The whole runbook through the Runner, as `molt-failback run` drives it: the CockroachDB emulator (over
 * real PostgreSQL) as source and staging, a real PostgreSQL target, a real child process standing in
 * for the forward replicator, and the real engine (built CLI). First the dry run (every step plans,
 * nothing changes, no secret shows), then the run, then a second run that finds everything in place.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { silentLogger } from '../../../src/lib/log.js';
import { RUNBOOK } from '../../../src/steps/index.js';
import { EngineOutputs } from '../../../src/steps/lib/outputs.js';
import { nextActions, stopEngine } from '../../../src/steps/observe.js';
import { Runner } from '../../../src/steps/runner.js';
import { createServices } from '../../../src/steps/services-impl.js';
import { STEP_IDS } from '../../../src/steps/config.js';
import { startCrdbWorld, targetDatabase, type CrdbWorld } from '../../helpers/crdb-bed.js';
import type { TestDatabase } from '../../helpers/databases.js';
import { startForward, type ForwardProcess } from '../../helpers/forward-process.js';
import { assertRunOk, testConfig, TestBed } from '../../helpers/step-harness.js';

const CRDB_PW = 'crdb-s3cret!';
const TARGET_PW = 'target-s3cret';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

let w: CrdbWorld;
let target: TestDatabase;
let client: pg.Client;
let fwd: ForwardProcess;
let bed: TestBed;

before(async () => {
  w = await startCrdbWorld('runbook_steps', { password: CRDB_PW });
  await w.sql('CREATE TABLE employees (id INT8 PRIMARY KEY, name STRING)');
  target = await targetDatabase('postgres', 'runbook_steps');
  client = new pg.Client({ connectionString: target.url });
  await client.connect();
  await client.query('CREATE TABLE employees (id BIGINT PRIMARY KEY, name TEXT)');
  fwd = await startForward({ activeMs: 800 });
  const targetUrl = new URL(target.url);
  targetUrl.password = TARGET_PW; // trust auth ignores it; it is there to prove it never leaks
  const config = testConfig({
    crdb: { conn: w.emu.url },
    tables: ['employees'],
    target: { conn: targetUrl.toString() },
    staging: { schema: 'defaultdb._replicator', createSchema: true },
    replicator: { host: 'localhost', bindAddr: `127.0.0.1:${await freePort()}`, metricsAddr: `127.0.0.1:${await freePort()}` },
    forward: { metricsUrl: fwd.metricsUrl, pid: fwd.pid, quietPeriod: '1s', pollInterval: '200ms', timeout: '30s' },
    monitor: { timeout: '90s' },
  });
  bed = new TestBed({ config, services: createServices(config, silentLogger()) });
});

after(async () => {
  const engine = EngineOutputs.safeParse(bed.outputs('start-replicator'));
  if (engine.success) await stopEngine(bed.services, engine.data.pid, 15_000);
  for (const j of await w.sql<{ job_id: string; status: string }>('SELECT job_id, status FROM [SHOW CHANGEFEED JOBS]')) if (j.status === 'running') await w.sql(`CANCEL JOB ${j.job_id}`);
  await fwd.stop();
  await bed.close();
  await client.end();
  await w.close();
  await target.drop();
});

describe('the runbook, end to end', () => {
  it('dry run: every step plans its actions, nothing changes, no secret appears', async () => {
    const runner = new Runner({
      steps: RUNBOOK,
      store: bed.store,
      base: { config: bed.config, stateDir: bed.stateDir, log: silentLogger(), signal: new AbortController().signal, services: bed.services, options: { yes: true, interactive: false, dryRun: true } },
      ui: bed.uiFactory(),
    });
    const plan = await runner.plan();
    assert.deepEqual(plan.steps.map((s) => s.id), [...STEP_IDS]);
    for (const s of plan.steps) {
      assert.equal(s.error, undefined, `${s.id}: ${s.error}`);
      assert.ok(s.actions.length > 0, `${s.id} plans something`);
    }
    const text = plan.steps.flatMap((s) => s.actions.map((a) => `${a.target} ${a.text} ${a.when ?? ''}`)).join('\n');
    assert.doesNotMatch(text, new RegExp(`${CRDB_PW.replace('!', '')}|${TARGET_PW}`));
    assert.match(text, /CREATE CHANGEFEED FOR TABLE "public"\."employees"/);
    assert.match(text, /SET CLUSTER SETTING kv\.rangefeed\.enabled = true/);
    assert.match(text, /kill -TERM/);
    assert.equal(bed.store.read(), undefined, 'a dry run writes no state');
    assert.equal((await w.sql('SELECT job_id FROM [SHOW CHANGEFEED JOBS]')).length, 0);
    assert.equal(bed.services.processes.isAlive(fwd.pid), true, 'the forward replicator still runs');
  });

  it('runs all ten steps; rows written on CockroachDB reach the target; no secret in the state', async () => {
    let n = 0;
    const writer = setInterval(() => {
      n += 1;
      void w.sql('INSERT INTO employees (id, name) VALUES ($1, $2)', [n, `e${n}`]).catch(() => undefined);
    }, 300);
    let result;
    try {
      result = await bed.run(RUNBOOK, {});
    } finally {
      clearInterval(writer);
    }
    assertRunOk(result);
    // grant-target-privileges finds the superuser's privileges already complete; every other step acts.
    assert.deepEqual(result.results.map((r) => r.outcome), ['verified', 'verified', 'adopted', ...Array(7).fill('verified')]);
    assert.equal(await fwd.exited, 0, 'the forward replicator was stopped with SIGTERM');
    let rows = 0;
    for (let i = 0; i < 60 && rows < 3; i++) {
      rows = Number((await client.query('SELECT count(*) AS n FROM employees')).rows[0].n);
      if (rows < 3) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(rows >= 3, `rows applied to the target (${rows})`);
    const state = JSON.stringify(bed.state());
    assert.doesNotMatch(state, new RegExp(`${TARGET_PW}|crdb-s3cret|BEGIN|PRIVATE`));
    assert.match(nextActions(bed.state())[0] as string, /Failback is running/);
  });

  it('a second run finds everything in place: no second engine, no second changefeed', async () => {
    const pid = EngineOutputs.parse(bed.outputs('start-replicator')).pid;
    const jobId = bed.outputs('create-changefeed').jobId;
    const writer = setInterval(() => void w.sql('INSERT INTO employees (id, name) VALUES ($1, $2)', [100_000 + Math.floor(Math.random() * 1e6), 'again']).catch(() => undefined), 300);
    let result;
    try {
      await new Promise((r) => setTimeout(r, 2000));
      result = await bed.run(RUNBOOK, {});
    } finally {
      clearInterval(writer);
    }
    assertRunOk(result);
    const outcomes = Object.fromEntries(result.results.map((r) => [r.id, r.outcome]));
    assert.equal(outcomes['start-replicator'], 'adopted');
    assert.equal(outcomes['create-changefeed'], 'adopted');
    assert.equal(outcomes['fetch-cursor'], 'adopted');
    assert.equal(EngineOutputs.parse(bed.outputs('start-replicator')).pid, pid);
    assert.equal(bed.outputs('create-changefeed').jobId, jobId);
    assert.equal((await w.sql<{ status: string }>('SELECT status FROM [SHOW CHANGEFEED JOBS]')).filter((j) => j.status === 'running').length, 1);
  });
});
