/**
 * The CockroachDB-side steps (enable-rangefeeds, fetch-cursor, create-changefeed) against the
 * CockroachDB emulator (src/sandbox/crdb) running over a real PostgreSQL database: no CockroachDB
 * server can be installed here, and the emulator answers the runbook's statements with CockroachDB's
 * output shapes and error texts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../../src/lib/log.js';
import { writeTokenFile } from '../../../src/replicator/index.js';
import { createChangefeed } from '../../../src/steps/create-changefeed.js';
import { enableRangefeeds, TUNING_WARNING } from '../../../src/steps/enable-rangefeeds.js';
import { fetchCursor } from '../../../src/steps/fetch-cursor.js';
import { engineFiles } from '../../../src/steps/lib/engine.js';
import { prepareTls } from '../../../src/steps/prepare-tls.js';
import { createServices } from '../../../src/steps/services-impl.js';
import type { FailbackConfig } from '../../../src/steps/config.js';
import { startCrdbWorld, type CrdbWorld } from '../../helpers/crdb-bed.js';
import { assertRunOk, testConfig, TestBed } from '../../helpers/step-harness.js';

let w: CrdbWorld;
const beds: TestBed[] = [];
before(async () => {
  w = await startCrdbWorld('crdb_steps');
  await w.sql('CREATE TABLE employees (id INT8 PRIMARY KEY, name STRING)');
  await w.sql('CREATE TABLE orders (id INT8 PRIMARY KEY, total DECIMAL)');
});
after(async () => {
  for (const b of beds) await b.close();
  await w.close();
});

function bed(overrides: Parameters<typeof testConfig>[0] = {}, stateDir?: string): TestBed {
  const config = testConfig({
    crdb: { conn: w.emu.url },
    tables: ['employees', 'orders'],
    target: { conn: 'postgres://postgres@127.0.0.1:5432/migration_db', schema: 'migration_db.public' },
    replicator: { host: 'localhost', bindAddr: '127.0.0.1:39999' },
    ...overrides,
  } as Parameters<typeof testConfig>[0]);
  const b = new TestBed({ config: config as FailbackConfig, services: createServices(config, silentLogger()), stateDir });
  beds.push(b);
  return b;
}

describe('enable-rangefeeds', () => {
  it('sets kv.rangefeed.enabled only when needed; twice equals once; crash converges', async () => {
    const b = bed();
    const fresh = await enableRangefeeds.check(b.ctx(enableRangefeeds));
    assert.equal(fresh.state, 'pending');
    assert.match(fresh.detail, /kv\.rangefeed\.enabled is false/);
    await enableRangefeeds.apply(b.ctx(enableRangefeeds, { discardRecords: true }));
    const [row] = await w.sql<Record<string, unknown>>('SHOW CLUSTER SETTING kv.rangefeed.enabled');
    assert.equal(Object.values(row ?? {})[0], true);
    // The crash lost the record; the Runner finds the setting in place and does nothing more.
    const result = await b.run([enableRangefeeds]);
    assertRunOk(result);
    assert.equal(result.results[0]?.outcome, 'adopted');
    await enableRangefeeds.apply(b.ctx(enableRangefeeds));
    assert.deepEqual(b.outputs('enable-rangefeeds').changed, []);
    assert.equal((await enableRangefeeds.check(b.ctx(enableRangefeeds))).state, 'satisfied');
  });

  it('applies the tuning settings only when asked, after the latency warning, comparing normalised durations', async () => {
    const b = bed({ rangefeed: { tune: true } });
    const c = await enableRangefeeds.check(b.ctx(enableRangefeeds));
    assert.equal(c.state, 'pending');
    assert.match(c.detail, /closed_timestamp_refresh_interval/);
    const plan = await enableRangefeeds.plan(b.ctx(enableRangefeeds));
    assert.ok(plan.some((a) => a.text === "SET CLUSTER SETTING kv.closed_timestamp.target_duration = '1s'"));
    await enableRangefeeds.apply(b.ctx(enableRangefeeds));
    assert.ok(b.texts('warn').includes(TUNING_WARNING));
    assert.equal((await enableRangefeeds.check(b.ctx(enableRangefeeds))).state, 'satisfied', 'read back as INTERVAL, compared as durations');
    const [iters] = await w.sql<Record<string, unknown>>('SHOW CLUSTER SETTING kv.rangefeed.concurrent_catchup_iterators');
    assert.equal(String(Object.values(iters ?? {})[0]), '64');
    const declined = new TestBed({ config: testConfig({ crdb: { conn: w.emu.url }, rangefeed: { tune: true, closedTimestampTargetDuration: '2s' } }), services: createServices(testConfig({ crdb: { conn: w.emu.url } }), silentLogger()), mode: 'interactive', answers: [false] });
    beds.push(declined);
    await assert.rejects(enableRangefeeds.apply(declined.ctx(enableRangefeeds)), /not applied/);
    await w.sql("SET CLUSTER SETTING kv.closed_timestamp.target_duration = '3s'");
    await w.sql("SET CLUSTER SETTING kv.rangefeed.closed_timestamp_refresh_interval = '3s'");
  });
});

describe('fetch-cursor', () => {
  it('keeps the exact DECIMAL text, reuses it, and converges after a crash', async () => {
    const b = bed();
    assert.equal((await fetchCursor.check(b.ctx(fetchCursor))).state, 'pending');
    await fetchCursor.apply(b.ctx(fetchCursor));
    const cursor = b.outputs('fetch-cursor').cursor as string;
    assert.match(cursor, /^\d{19}\.\d{10}$/);
    assert.equal(b.outputs('fetch-cursor').gcTtlSeconds, 14400);
    await fetchCursor.apply(b.ctx(fetchCursor));
    assert.equal(b.outputs('fetch-cursor').cursor, cursor, 'reused while no changefeed exists');
    assert.equal((await fetchCursor.check(b.ctx(fetchCursor))).state, 'satisfied');
    const crashed = bed();
    await fetchCursor.apply(crashed.ctx(fetchCursor, { discardRecords: true }));
    assertRunOk(await crashed.run([fetchCursor]));
    assert.match(crashed.outputs('fetch-cursor').cursor as string, /^\d{19}\.\d{10}$/);
  });

  it('refuses a cursor older than the lowest GC TTL (a table zone may be lower) with the runbook guidance', async () => {
    const b = bed();
    await fetchCursor.apply(b.ctx(fetchCursor));
    await w.sql('ALTER TABLE orders CONFIGURE ZONE USING gc.ttlseconds = 1');
    try {
      await new Promise((r) => setTimeout(r, 1300));
      const c = await fetchCursor.check(b.ctx(fetchCursor));
      assert.equal(c.state, 'blocked');
      assert.match(c.detail, /GC TTL 1s from TABLE public\.orders/);
      assert.ok(c.actions?.some((a) => /ALTER DATABASE "defaultdb" CONFIGURE ZONE USING gc\.ttlseconds = 86400/.test(a)), JSON.stringify(c.actions));
      const configured = bed({ changefeed: { cursor: '1700000000000000000.0000000000' } });
      await assert.rejects(fetchCursor.apply(configured.ctx(fetchCursor)), (err: Error & { code?: string }) => err.code === 'CURSOR_TOO_OLD');
    } finally {
      await w.sql('ALTER TABLE orders CONFIGURE ZONE USING gc.ttlseconds = 14400');
    }
  });

  it('warns when little of the GC window is left', async () => {
    await w.sql('ALTER TABLE orders CONFIGURE ZONE USING gc.ttlseconds = 2');
    try {
      const b = bed();
      const [row] = await w.sql<{ ts: string }>('SELECT cluster_logical_timestamp() AS ts');
      const old = (BigInt((row?.ts as string).split('.')[0] as string) - 1_700_000_000n).toString();
      const configured = bed({ changefeed: { cursor: `${old}.0000000000` } });
      await fetchCursor.apply(configured.ctx(fetchCursor));
      assert.ok(configured.texts('warn').some((t) => /remain before GC may pass the cursor/.test(t)), configured.texts().join('\n'));
      void b;
    } finally {
      await w.sql('ALTER TABLE orders CONFIGURE ZONE USING gc.ttlseconds = 14400');
    }
  });

  it('takes a new cursor when the recorded one was fetched before the drain finished', async () => {
    const b = bed();
    b.setOutputs('fetch-cursor', { cursor: '1795785910375360000.0000000000', source: 'fetched', fetchedAt: '2020-01-01T00:00:00.000Z', gcTtlSeconds: 14400, gcFrom: 'x' });
    b.setOutputs('drain-forward', { drainedAt: new Date().toISOString(), method: 'confirmed' });
    const c = await fetchCursor.check(b.ctx(fetchCursor));
    assert.equal(c.state, 'pending');
    assert.match(c.detail, /before the drain finished/);
  });
});

describe('create-changefeed', () => {
  async function ready(b: TestBed): Promise<void> {
    await prepareTls.apply(b.ctx(prepareTls));
    writeTokenFile(engineFiles(b.stateDir).tokenFile, 'test-token-123');
    await fetchCursor.apply(b.ctx(fetchCursor));
  }

  it('creates the runbook statement, records the job id, adopts after a crash, never makes a second one', async () => {
    await w.sql('SET CLUSTER SETTING kv.rangefeed.enabled = true');
    const b = bed();
    await ready(b);
    assert.equal((await createChangefeed.check(b.ctx(createChangefeed))).state, 'pending');
    const plan = await createChangefeed.plan(b.ctx(createChangefeed));
    const planned = plan.map((a) => a.text).join('\n');
    assert.match(planned, /CREATE CHANGEFEED FOR TABLE "public"\."employees", "public"\."orders" INTO 'webhook-https:\/\/localhost:39999\/migration_db\/public\?client_cert=\*\*\*\*&client_key=\*\*\*\*&ca_cert=\*\*\*\*' WITH updated, resolved = '250ms'/);
    assert.match(planned, /webhook_auth_header = 'Bearer \*\*\*\*'/);
    assert.doesNotMatch(planned, /test-token-123/);

    await createChangefeed.apply(b.ctx(createChangefeed, { discardRecords: true }));
    const jobs1 = await w.sql<{ job_id: string; description: string }>('SELECT job_id, description FROM [SHOW CHANGEFEED JOBS]');
    assert.equal(jobs1.length, 1);
    assert.match(jobs1[0]?.description as string, /cursor = '\d+\.\d{10}'/);
    const result = await b.run([createChangefeed]);
    assertRunOk(result);
    const out = b.outputs('create-changefeed');
    assert.equal(out.jobId, jobs1[0]?.job_id);
    assert.equal(out.adopted, true);
    assert.equal(out.cursor, b.outputs('fetch-cursor').cursor, 'the adopted job\'s own cursor, read from its description');
    assert.doesNotMatch(JSON.stringify(b.state()), /test-token-123|BEGIN/);
    await createChangefeed.apply(b.ctx(createChangefeed));
    assert.equal((await w.sql('SELECT job_id FROM [SHOW CHANGEFEED JOBS]')).length, 1, 'apply twice equals once');
    assert.equal((await createChangefeed.check(b.ctx(createChangefeed))).state, 'satisfied');
    assert.equal((await createChangefeed.verify(b.ctx(createChangefeed))).ok, true);
    // The cursor is now consumed: fetch-cursor stays satisfied without looking at GC.
    assert.match((await fetchCursor.check(b.ctx(fetchCursor))).detail, /in use by changefeed/);
  });

  it('refuses a second changefeed aimed at the same replicator (one-changefeed rule)', async () => {
    const [intruder] = await w.sql<{ job_id: string }>(
      "CREATE CHANGEFEED FOR TABLE employees INTO 'webhook-https://localhost:39999/other_db/public?insecure_tls_skip_verify=true' WITH updated, resolved = '1s'",
    );
    try {
      const b = bed({ tables: ['employees'] });
      await ready(b);
      const c = await createChangefeed.check(b.ctx(createChangefeed));
      assert.equal(c.state, 'blocked');
      assert.match(c.detail, new RegExp(`Another changefeed already points at this replicator .*job ${intruder?.job_id}`));
      assert.ok(c.actions?.includes(`If job ${intruder?.job_id} is a leftover, cancel it on CockroachDB: CANCEL JOB ${intruder?.job_id};`));
    } finally {
      await w.sql(`CANCEL JOB ${intruder?.job_id}`);
    }
  });

  it('replaces our changefeed after it was canceled, from its high-water mark', async () => {
    const b = bed();
    const [job] = await w.sql<{ job_id: string }>('SELECT job_id FROM [SHOW CHANGEFEED JOBS] WHERE status = $1', ['running']);
    await ready(b);
    await new Promise((r) => setTimeout(r, 400));
    await w.sql(`CANCEL JOB ${job?.job_id}`);
    let hw: { high_water_timestamp: string; status: string } | undefined;
    for (let i = 0; i < 100 && hw?.status !== 'canceled'; i++) {
      [hw] = await w.sql<{ high_water_timestamp: string; status: string }>(`SELECT high_water_timestamp, status FROM [SHOW CHANGEFEED JOB ${job?.job_id}]`);
      if (hw?.status !== 'canceled') await new Promise((r) => setTimeout(r, 50));
    }
    // As create-changefeed recorded it: the job started from a cursor before its high-water mark.
    const started = `${BigInt((hw?.high_water_timestamp as string).split('.')[0] as string) - 5_000_000_000n}.0000000000`;
    b.setOutputs('create-changefeed', { jobId: job?.job_id as string, createdAt: new Date().toISOString(), sink: 'x', cursor: started, tables: ['public.employees', 'public.orders'], adopted: false });
    const c = await createChangefeed.check(b.ctx(createChangefeed));
    assert.equal(c.state, 'pending');
    assert.match(c.detail, /is cancel(-requested|ed); a replacement is needed/);
    await createChangefeed.apply(b.ctx(createChangefeed));
    const out = b.outputs('create-changefeed');
    try {
      assert.notEqual(out.jobId, job?.job_id);
      assert.deepEqual(out.replaced, [job?.job_id]);
      assert.equal(out.cursor, hw?.high_water_timestamp);
      assert.ok(b.texts('warn').some((t) => t.startsWith(`Changefeed ${job?.job_id} is cancel`)));
    } finally {
      await w.sql(`CANCEL JOB ${out.jobId as string}`);
    }
  });

  it('maps CREATE errors to the runbook fix (rangefeeds disabled)', async () => {
    await w.sql('SET CLUSTER SETTING kv.rangefeed.enabled = false');
    try {
      const b = bed({ tables: ['orders'] });
      await ready(b);
      await assert.rejects(createChangefeed.apply(b.ctx(createChangefeed)), (err: Error & { code?: string; actions?: string[] }) => {
        assert.equal(err.code, 'CHANGEFEED_CREATE_FAILED');
        assert.ok(err.actions?.some((a) => /enable-rangefeeds/.test(a)));
        assert.doesNotMatch(err.message, /test-token-123/);
        return true;
      });
    } finally {
      await w.sql('SET CLUSTER SETTING kv.rangefeed.enabled = true');
    }
  });
});
