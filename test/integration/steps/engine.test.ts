/**
 * start-replicator and monitor-changefeed against the real embedded engine (`molt-failback replicator
 * start`, spawned from the built CLI: run `npm run build` first, as `npm test` does), the CockroachDB
 * emulator over real PostgreSQL (source and staging) and a real PostgreSQL target: rows written on
 * "CockroachDB" must arrive in the target before monitor-changefeed calls delivery proven.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { silentLogger } from '../../../src/lib/log.js';
import { createChangefeed } from '../../../src/steps/create-changefeed.js';
import { enableRangefeeds } from '../../../src/steps/enable-rangefeeds.js';
import { fetchCursor } from '../../../src/steps/fetch-cursor.js';
import { EngineOutputs } from '../../../src/steps/lib/outputs.js';
import { monitorChangefeed } from '../../../src/steps/monitor-changefeed.js';
import { stopEngine } from '../../../src/steps/observe.js';
import { prepareTls } from '../../../src/steps/prepare-tls.js';
import { createServices } from '../../../src/steps/services-impl.js';
import { startReplicator } from '../../../src/steps/start-replicator.js';
import type { FailbackConfig } from '../../../src/steps/config.js';
import { startCrdbWorld, targetDatabase, type CrdbWorld } from '../../helpers/crdb-bed.js';
import type { TestDatabase } from '../../helpers/databases.js';
import { assertRunOk, testConfig, TestBed } from '../../helpers/step-harness.js';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

let w: CrdbWorld;
let target: TestDatabase;
let targetClient: pg.Client;
let webhookPort: number;
let metricsPort: number;
const beds: TestBed[] = [];
const pids = new Set<number>();

before(async () => {
  w = await startCrdbWorld('engine_steps');
  await w.sql('CREATE TABLE employees (id INT8 PRIMARY KEY, name STRING)');
  target = await targetDatabase('postgres', 'engine_steps');
  targetClient = new pg.Client({ connectionString: target.url });
  await targetClient.connect();
  await targetClient.query('CREATE TABLE employees (id BIGINT PRIMARY KEY, name TEXT)');
  webhookPort = await freePort();
  metricsPort = await freePort();
});

after(async () => {
  const services = createServices(testConfig(), silentLogger());
  for (const pid of pids) await stopEngine(services, pid, 15_000);
  for (const job of await w.sql<{ job_id: string; status: string }>('SELECT job_id, status FROM [SHOW CHANGEFEED JOBS]')) {
    if (job.status === 'running') await w.sql(`CANCEL JOB ${job.job_id}`);
  }
  for (const b of beds) await b.close();
  await targetClient.end();
  await w.close();
  await target.drop();
});

function config(overrides: Partial<FailbackConfig['replicator']> = {}, monitorTimeout = '90s'): FailbackConfig {
  return testConfig({
    crdb: { conn: w.emu.url },
    tables: ['employees'],
    target: { conn: target.url },
    staging: { schema: 'defaultdb._replicator', createSchema: true },
    replicator: { host: 'localhost', bindAddr: `127.0.0.1:${webhookPort}`, metricsAddr: `127.0.0.1:${metricsPort}`, verbose: true, ...overrides },
    monitor: { timeout: monitorTimeout },
  });
}

function bed(c: FailbackConfig, stateDir?: string): TestBed {
  const b = new TestBed({ config: c, services: createServices(c, silentLogger()), stateDir });
  beds.push(b);
  return b;
}

describe('start-replicator and monitor-changefeed with the real engine', () => {
  let main: TestBed;

  it('starts the engine detached, proves /_/healthz and /_/varz, keeps secrets out of argv and state', async () => {
    main = bed(config());
    await prepareTls.apply(main.ctx(prepareTls));
    assert.equal((await startReplicator.check(main.ctx(startReplicator))).state, 'pending');
    const result = await main.run([startReplicator]);
    assertRunOk(result);
    const out = EngineOutputs.parse(main.outputs('start-replicator'));
    pids.add(out.pid);
    assert.equal(out.adopted, false);
    assert.equal(out.metricsUrl, `http://127.0.0.1:${metricsPort}/_/varz`);
    const cmdline = readFileSync(`/proc/${out.pid}/cmdline`, 'utf8').split('\0');
    assert.ok(cmdline.includes('--fingerprint') && cmdline.includes('--authTokenFile'), cmdline.join(' '));
    assert.ok(!cmdline.some((a) => a.includes('postgres://')), 'no connection string in argv');
    assert.equal(readFileSync(out.tokenFile, 'utf8').trim().length > 20, true);
    assert.doesNotMatch(JSON.stringify(main.state()), new RegExp(readFileSync(out.tokenFile, 'utf8').trim()));
    assert.equal((await startReplicator.check(main.ctx(startReplicator))).state, 'satisfied');
    assert.equal((await startReplicator.verify(main.ctx(startReplicator))).ok, true);
  });

  it('apply twice equals once, and a lost state write adopts the running engine instead of starting a second', async () => {
    const before = EngineOutputs.parse(main.outputs('start-replicator'));
    await startReplicator.apply(main.ctx(startReplicator));
    const again = EngineOutputs.parse(main.outputs('start-replicator'));
    assert.equal(again.pid, before.pid);
    assert.equal(again.adopted, true);
    main.setOutputs('start-replicator', undefined);
    const c = await startReplicator.check(main.ctx(startReplicator));
    assert.equal(c.state, 'pending');
    assert.match(c.detail, /will be adopted/);
    assertRunOk(await main.run([startReplicator]));
    assert.equal(EngineOutputs.parse(main.outputs('start-replicator')).pid, before.pid, 'same engine, no second one');
  });

  it('refuses to adopt an engine started with different settings', async () => {
    const other = bed(config({ verbose: false }), main.stateDir);
    other.setOutputs('prepare-tls', main.outputs('prepare-tls'));
    const c = await startReplicator.check(other.ctx(startReplicator));
    assert.equal(c.state, 'blocked');
    assert.match(c.detail, /already running .* with different settings/);
    assert.ok(c.actions?.some((a) => /molt-failback teardown/.test(a)));
    assert.ok(c.actions?.some((a) => /kill -TERM \d+/.test(a)));
  });

  it('proves delivery: job running with a resolved timestamp, 200s rising, applied timestamp advancing, rows in the target', async () => {
    await enableRangefeeds.apply(main.ctx(enableRangefeeds));
    await fetchCursor.apply(main.ctx(fetchCursor));
    await createChangefeed.apply(main.ctx(createChangefeed));
    let n = 0;
    const writer = setInterval(() => {
      n += 1;
      void w.sql('INSERT INTO employees (id, name) VALUES ($1, $2)', [n, `name ${n}`]).catch((err: Error) => console.error('write failed', err.message));
    }, 300);
    try {
      assert.equal((await monitorChangefeed.check(main.ctx(monitorChangefeed))).state, 'pending');
      await monitorChangefeed.apply(main.ctx(monitorChangefeed));
    } finally {
      clearInterval(writer);
    }
    const proof = main.outputs('monitor-changefeed');
    assert.equal(proof.jobId, main.outputs('create-changefeed').jobId);
    assert.ok((proof.http200 as number) > 0);
    assert.ok(main.texts('progress').some((t) => /webhook 200s \+\d+/.test(t)));
    assert.equal((await monitorChangefeed.verify(main.ctx(monitorChangefeed))).ok, true);
    // Rows written on CockroachDB arrive in the target.
    let rows = 0;
    for (let i = 0; i < 60 && rows === 0; i++) {
      rows = Number((await targetClient.query('SELECT count(*) AS n FROM employees')).rows[0].n);
      if (rows === 0) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(rows > 0, 'rows applied to the target');
    // On a later run the check sees data still flowing since the recorded proof.
    await new Promise((r) => setTimeout(r, 2500));
    const later = await monitorChangefeed.check(main.ctx(monitorChangefeed));
    assert.equal(later.state, 'satisfied', later.detail);
    // Twice equals once (a fresh proof for the same job), and a lost proof is simply proven again.
    await monitorChangefeed.apply(main.ctx(monitorChangefeed));
    assert.equal(main.outputs('monitor-changefeed').jobId, proof.jobId);
    main.setOutputs('monitor-changefeed', undefined);
    assert.equal((await monitorChangefeed.check(main.ctx(monitorChangefeed))).state, 'pending');
    assertRunOk(await main.run([monitorChangefeed]));
    assert.equal((await w.sql<{ status: string }>('SELECT status FROM [SHOW CHANGEFEED JOBS]')).filter((j) => j.status === 'running').length, 1, 'still one changefeed');
  });

  it('maps a changefeed that cannot reach the webhook to the runbook fix', async () => {
    const wrongPort = await freePort();
    const lost = bed(config({ bindAddr: `127.0.0.1:${wrongPort}` }, '6s'), main.stateDir);
    lost.setOutputs('prepare-tls', main.outputs('prepare-tls'));
    lost.setOutputs('start-replicator', main.outputs('start-replicator'));
    lost.setOutputs('fetch-cursor', main.outputs('fetch-cursor'));
    await createChangefeed.apply(lost.ctx(createChangefeed));
    try {
      await assert.rejects(monitorChangefeed.apply(lost.ctx(monitorChangefeed)), (err: Error & { code?: string; actions?: string[] }) => {
        assert.equal(err.code, 'CHANGEFEED_NOT_DELIVERING', err.message);
        assert.match(err.message, /CockroachDB cannot connect to the webhook at localhost:\d+: .*connection refused/);
        assert.ok(err.actions?.some((a) => /engine is down, or the host or port in the sink URI is wrong/.test(a)));
        return true;
      });
    } finally {
      await w.sql(`CANCEL JOB ${lost.outputs('create-changefeed').jobId as string}`);
    }
  });
});

describe('monitor-changefeed: stale staged mutations', () => {
  it('offers the targeted clean-up (consent needed under --yes), stops the engine, deletes only those tables\' mutations', async () => {
    const b = beds[0] as TestBed;
    const { inspectStaging } = await import('../../../src/replicator/index.js');
    const stagingConn = w.emu.url;
    // The target rejects every new row, so mutations stay staged (pending) in the engine's staging schema.
    await targetClient.query('ALTER TABLE employees ADD CONSTRAINT reject_new CHECK (id < 1000)');
    try {
      await w.sql('INSERT INTO employees (id, name) VALUES (5001, $1), (5002, $1)', ['stuck']);
      let pending = 0;
      for (let i = 0; i < 60 && pending === 0; i++) {
        const r = await inspectStaging(stagingConn, 'defaultdb._replicator');
        pending = r.targets.reduce((a, t) => a + t.pendingTotal, 0);
        if (pending === 0) await new Promise((r2) => setTimeout(r2, 500));
      }
      assert.ok(pending > 0, 'mutations are stuck in staging');
      // A new stream starts later than those mutations: they would be applied out of order.
      await w.sql(`CANCEL JOB ${b.outputs('create-changefeed').jobId as string}`);
      b.setOutputs('create-changefeed', undefined);
      b.setOutputs('monitor-changefeed', undefined);
      b.setOutputs('fetch-cursor', undefined);
      await fetchCursor.apply(b.ctx(fetchCursor));
      await createChangefeed.apply(b.ctx(createChangefeed));
      await assert.rejects(monitorChangefeed.apply(b.ctx(monitorChangefeed)), (err: Error & { code?: string }) => err.code === 'CONSENT_REQUIRED' && /--clean-staging/.test(JSON.stringify(err)));
      const consenting = new TestBed({ config: { ...b.config, monitor: { ...b.config.monitor, cleanStaging: true } }, services: createServices(b.config, silentLogger()), stateDir: b.stateDir });
      beds.push(consenting);
      for (const id of ['prepare-tls', 'start-replicator', 'fetch-cursor', 'create-changefeed'] as const) consenting.setOutputs(id, b.outputs(id));
      const enginePid = EngineOutputs.parse(b.outputs('start-replicator')).pid;
      await assert.rejects(monitorChangefeed.apply(consenting.ctx(monitorChangefeed)), (err: Error & { code?: string; actions?: string[] }) => {
        assert.equal(err.code, 'STAGING_CLEANED', err.message);
        assert.ok(err.actions?.some((a) => /Run molt-failback run again/.test(a)));
        return true;
      });
      assert.ok(consenting.texts('warn').some((t) => /older than the changefeed's cursor/.test(t)));
      const after = await inspectStaging(stagingConn, 'defaultdb._replicator');
      assert.equal(after.targets.reduce((a, t) => a + t.pendingTotal, 0), 0, 'the stale mutations are gone');
      assert.equal(consenting.services.processes.isAlive(enginePid), false, 'the engine was stopped for the clean-up');
    } finally {
      await targetClient.query('ALTER TABLE employees DROP CONSTRAINT IF EXISTS reject_new');
    }
    // The next run restarts the engine: start-replicator sees it gone.
    assert.equal((await startReplicator.check(b.ctx(startReplicator))).state, 'pending');
    assertRunOk(await b.run([startReplicator]));
    pids.add(EngineOutputs.parse(b.outputs('start-replicator')).pid);
  });
});
