/**
 * End to end through real HTTPS (undici), real PostgreSQL staging, and real PostgreSQL and MariaDB
 * targets: replays the webhook fixtures F1-F7 and covers ordering across windows, duplicates and re-sends
 * below the checkpoint, composite keys in another column order (--sourceKeyColumns), FK parents and
 * children in one window, exact INT8/DECIMAL values, unknown schemas and tables, bad bodies and tokens
 * (nothing staged), 413, and the metrics names. CockroachDB itself is not involved: the bodies are the
 * documented wire format (test/fixtures/webhook).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import type { Agent } from 'undici';
import { createMariaDbDatabase, createPgDatabase, type TestDatabase } from '../helpers/databases.js';
import { silentLogger } from '../../src/lib/log.js';
import { inspectStaging, openTarget, type TargetPool, type TargetSchema } from '../../src/replicator/index.js';
import {
  fixture,
  get,
  httpsAgent,
  makeTls,
  metricValue,
  post,
  startTestEngine,
  tempDir,
  tokenFile,
  waitApplied,
  waitFor,
  type RunningEngine,
} from './engine-support.js';

interface DialectCase {
  name: 'postgres' | 'mariadb';
  ddl: string[];
  create(prefix: string): Promise<TestDatabase>;
  /** Webhook path of the target schema. */
  path(db: TestDatabase): string;
  schemaKey(db: TestDatabase): string;
  /** A path naming a schema that does not exist (and its 400 text). */
  unknown(db: TestDatabase): { path: string; text: string }[];
  /** Normalised paid_at of F2. */
  paidAt: string;
  exec(db: TestDatabase, sql: string): Promise<void>;
  /** Engine settings that differ per case, so both apply paths run against a real target. */
  settings: Record<string, unknown>;
}

const PG_DDL = [
  'CREATE TABLE employees (id INT8 PRIMARY KEY, name TEXT, office TEXT)',
  'CREATE TABLE payments (id UUID PRIMARY KEY, employee_id INT8, amount NUMERIC(12,2), paid_at TIMESTAMPTZ)',
  'CREATE TABLE vehicles (city TEXT, id UUID, ext JSONB, owner_id UUID, status TEXT, PRIMARY KEY (city, id))',
  'CREATE TABLE nums (id INT8 PRIMARY KEY, big INT8, d NUMERIC(38,10), n NUMERIC)',
  'CREATE TABLE parent (id INT8 PRIMARY KEY, name TEXT)',
  'CREATE TABLE child (id INT8 PRIMARY KEY, parent_id INT8 NOT NULL REFERENCES parent(id), name TEXT)',
  'CREATE TABLE rides (id UUID, city TEXT, fare NUMERIC(10,2), PRIMARY KEY (id, city))',
  'CREATE TABLE seq (id INT8 PRIMARY KEY, v INT8)',
];

const MY_DDL = [
  'CREATE TABLE employees (id BIGINT PRIMARY KEY, name VARCHAR(100), office VARCHAR(100))',
  'CREATE TABLE payments (id CHAR(36) PRIMARY KEY, employee_id BIGINT, amount DECIMAL(12,2), paid_at DATETIME(6))',
  'CREATE TABLE vehicles (city VARCHAR(64), id CHAR(36), ext JSON, owner_id CHAR(36), status VARCHAR(32), PRIMARY KEY (city, id))',
  'CREATE TABLE nums (id BIGINT PRIMARY KEY, big BIGINT, d DECIMAL(38,10), n DECIMAL(65,30))',
  'CREATE TABLE parent (id BIGINT PRIMARY KEY, name VARCHAR(50))',
  'CREATE TABLE child (id BIGINT PRIMARY KEY, parent_id BIGINT NOT NULL, name VARCHAR(50), FOREIGN KEY (parent_id) REFERENCES parent(id))',
  'CREATE TABLE rides (id CHAR(36), city VARCHAR(64), fare DECIMAL(10,2), PRIMARY KEY (id, city))',
  'CREATE TABLE seq (id BIGINT PRIMARY KEY, v BIGINT)',
];

async function pgExec(db: TestDatabase, sql: string) {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function myExec(db: TestDatabase, sql: string) {
  const mysql = await import('mysql2/promise');
  const c = await mysql.createConnection(db.url);
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

const CASES: DialectCase[] = [
  {
    name: 'postgres',
    ddl: PG_DDL,
    create: createPgDatabase,
    path: (db) => `/${db.name}/public`,
    schemaKey: (db) => `${db.name}.public`,
    unknown: (db) => [
      { path: '/no_such_db/public', text: 'unknown schema: "no_such_db"."public"' },
      { path: `/${db.name}/no_such_schema`, text: `unknown schema: "${db.name}"."no_such_schema"` },
    ],
    paidAt: '2025-09-30T15:42:02.007000Z',
    exec: pgExec,
    settings: {},
  },
  {
    name: 'mariadb',
    ddl: MY_DDL,
    create: createMariaDbDatabase,
    path: (db) => `/${db.name}`,
    schemaKey: (db) => db.name,
    unknown: () => [{ path: '/no_such_db', text: 'unknown schema: "no_such_db"' }],
    paidAt: '2025-09-30T15:42:02.007000',
    exec: myExec,
    // HLC-by-HLC application and one transaction per FK component.
    settings: { collapseMutations: false, enableParallelApplies: true },
  },
];

let staging: TestDatabase;
let dir: string;
let tls: Awaited<ReturnType<typeof makeTls>>;
let agent: Agent;
let token: string;
let tokens: string;

before(async () => {
  staging = await createPgDatabase('engine_replay_stg');
  dir = tempDir('engine-replay');
  tls = await makeTls(dir);
  agent = httpsAgent(tls.ca);
  ({ file: tokens, token } = tokenFile(dir));
});

after(async () => {
  await agent?.close();
  await staging?.drop();
});

/** Increasing HLCs above the fixtures' timestamps. */
let tick = 0n;
const nextHlc = () => `${1759246930000000000n + ++tick * 1_000_000n}.0000000000`;

interface Msg {
  table: string;
  key: string;
  after: string | null;
  at: string;
  before?: string;
}
const body = (msgs: Msg[]) =>
  `{"payload":[${msgs.map((m) => `{"after":${m.after ?? 'null'},${m.before !== undefined ? `"before":${m.before},` : ''}"key":${m.key},"topic":"${m.table}","updated":"${m.at}"}`).join(',')}],"length":${msgs.length}}`;
const resolved = (at: string) => `{"resolved":"${at}"}`;

for (const dc of CASES) {
  describe(`replay against ${dc.name}${Object.keys(dc.settings).length ? ` (${JSON.stringify(dc.settings)})` : ''}`, () => {
    let target: TestDatabase;
    let e: RunningEngine;
    let pool: TargetPool;
    let schema: TargetSchema;
    let path: string;

    const send = async (b: string, o: { token?: string; path?: string } = {}) => post(e.engine.webhookUrl, o.path ?? path, b, { token: o.token ?? token, agent });
    const ok = async (b: string) => {
      const r = await send(b);
      assert.equal(r.status, 200, r.body);
      assert.equal(r.body, 'OK\n');
    };
    const rows = async (table: string): Promise<Record<string, string | null>[]> => {
      const info = await pool.introspect(schema);
      const t = info?.tables.get(table);
      assert.ok(t, `table ${table}`);
      const out = await pool.readRows(schema, t, { limit: 1000 });
      return out.map((r) => Object.fromEntries(t.columns.map((c, i) => [c.name.toLowerCase(), r[i] ?? null])));
    };
    const applyUpTo = async (at: string) => {
      await ok(resolved(at));
      await waitApplied(e.engine.diagUrl, dc.schemaKey(target), at);
    };
    const stagedTotal = async () => (await inspectStaging(staging.url, `${staging.name}.stg_${dc.name}`)).targets.reduce((s, t) => s + t.pendingTotal, 0);

    before(async () => {
      target = await dc.create(`engine_replay_${dc.name}`);
      for (const sql of dc.ddl) await dc.exec(target, sql);
      e = await startTestEngine({
        targetConn: target.url,
        stagingConn: staging.url,
        stagingSchema: `${staging.name}.stg_${dc.name}`,
        stagingCreateSchema: true,
        tlsCertificate: tls.certFile,
        tlsPrivateKey: tls.keyFile,
        authTokenFile: tokens,
        sourceKeyColumns: 'rides=city,id',
        maxBodyBytes: 64 * 1024,
        verbose: 1,
        ...dc.settings,
      });
      path = dc.path(target);
      pool = await openTarget(target.url, { log: silentLogger() });
      schema = pool.dialect.schemaFromPath(path.split('/').filter(Boolean));
    });

    after(async () => {
      await e?.stop();
      await pool?.close();
      await target?.drop();
    });

    test('F1-F4: staged rows apply only once a resolved timestamp covers them', async () => {
      await ok(fixture('F1-single-insert.json'));
      await ok(fixture('F2-batch.json'));
      await ok(fixture('F3-delete.json'));
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(await rows('employees'), [], 'nothing applied before a resolved timestamp');
      await ok(fixture('F4-resolved.json'));
      await waitApplied(e.engine.diagUrl, dc.schemaKey(target), '1759246923500000000.0000000000');
      assert.deepEqual(await rows('employees'), [{ id: '1', name: 'Terrence', office: 'new york city' }]);
      assert.deepEqual(await rows('payments'), [{ id: '8d6d2c1e-6a0b-4f6e-9a57-0f8a3f2f1b44', employee_id: '2', amount: '125.5', paid_at: dc.paidAt }]);
    });

    test('F5-F7: before images and composite keys; replay below the checkpoint is dropped; mvcc_timestamp accepted', async () => {
      await ok(fixture('F5-diff-composite.json'));
      await ok(fixture('F6-replay.json'));
      await ok(fixture('F7-mvcc-timestamp.json'));
      await ok(fixture('F7-empty-body.json'));
      await ok(fixture('F6-resolved.json'));
      await waitApplied(e.engine.diagUrl, dc.schemaKey(target), '1759246925000000000.0000000000');
      assert.deepEqual(await rows('employees'), [{ id: '1', name: 'Terrence', office: 'new york city' }], 'employee 2 stays deleted, employee 1 keeps its name');
      const v = await rows('vehicles');
      assert.deepEqual(
        v.map((r) => [r.city, r.id, r.status, r.owner_id, r.ext]),
        [
          ['paris', '020cf7f4-6324-48a0-9f74-6c9010fb1ab4', 'available', 'b74ea421-fcaf-4d80-9dcc-d222d49bdc17', null],
          ['rome', 'd7b18299-c0c4-4304-9ef7-05ae46fd5ee1', 'in_use', null, '{"brand":"Schwinn","color":"red"}'],
        ],
      );
      const m = await get(e.engine.metricsUrl);
      assert.ok((metricValue(m.body, 'failback_stage_dropped_below_checkpoint_total', 'table="employees"') ?? 0) >= 3, 'F6 and F7 re-sends dropped');
    });

    test('duplicates above the checkpoint are no-ops; ordering across windows', async () => {
      const t1 = nextHlc();
      const t2 = nextHlc();
      const t3 = nextHlc();
      const t4 = nextHlc();
      const b1 = body([{ table: 'seq', key: '[1]', after: '{"id":1,"v":1}', at: t1 }]);
      await ok(b1);
      await ok(b1);
      await applyUpTo(t1);
      assert.deepEqual(await rows('seq'), [{ id: '1', v: '1' }]);
      await ok(body([{ table: 'seq', key: '[1]', after: '{"id":1,"v":2}', at: t2 }]));
      await applyUpTo(t2);
      await ok(body([{ table: 'seq', key: '[1]', after: null, at: t3 }]));
      await applyUpTo(t3);
      assert.deepEqual(await rows('seq'), []);
      // A late duplicate of the t2 update must not resurrect the row.
      await ok(body([{ table: 'seq', key: '[1]', after: '{"id":1,"v":2}', at: t2 }]));
      await ok(body([{ table: 'seq', key: '[1]', after: '{"id":1,"v":4}', at: t4 }, { table: 'seq', key: '[2]', after: '{"id":2,"v":1}', at: t4 }]));
      await ok(body([{ table: 'seq', key: '[1]', after: '{"id":1,"v":4}', at: t4 }]));
      await applyUpTo(t4);
      assert.deepEqual(await rows('seq'), [
        { id: '1', v: '4' },
        { id: '2', v: '1' },
      ]);
      const m = await get(e.engine.metricsUrl);
      assert.ok((metricValue(m.body, 'stage_duplicate_mutations_total', 'table="seq"') ?? 0) >= 2);
    });

    test('many windows, one key: the last write wins in HLC order', async () => {
      let last = '';
      for (let i = 0; i < 5; i++) {
        const batch: Msg[] = [];
        for (let j = 0; j < 20; j++) {
          last = nextHlc();
          batch.push({ table: 'seq', key: '[3]', after: `{"id":3,"v":${i * 100 + j}}`, at: last });
        }
        // Deliver each batch out of order: staging sorts by HLC.
        await ok(body(batch.reverse()));
        await ok(resolved(last));
      }
      await waitApplied(e.engine.diagUrl, dc.schemaKey(target), last);
      assert.deepEqual((await rows('seq')).find((r) => r.id === '3'), { id: '3', v: '419' });
    });

    test('INT8 above 2^53 and DECIMALs stay exact', async () => {
      const at = nextHlc();
      await ok(
        body([
          { table: 'nums', key: '[1101234051444375553]', after: '{"id":1101234051444375553,"big":-9223372036854775808,"d":12345678901234567890.1234567891,"n":0.000000000000000000000000000001}', at },
          { table: 'nums', key: '[9007199254740993]', after: '{"id":9007199254740993,"big":9223372036854775807,"d":125.50,"n":"99999999999999999999.5"}', at },
        ]),
      );
      await applyUpTo(at);
      assert.deepEqual(await rows('nums'), [
        { id: '9007199254740993', big: '9223372036854775807', d: '125.5', n: '99999999999999999999.5' },
        { id: '1101234051444375553', big: '-9223372036854775808', d: '12345678901234567890.1234567891', n: '0.000000000000000000000000000001' },
      ]);
    });

    test('FK parents and children in one window, children listed first', async () => {
      const a = nextHlc();
      await ok(body([{ table: 'child', key: '[10]', after: '{"id":10,"parent_id":1,"name":"c10"}', at: a }, { table: 'child', key: '[11]', after: '{"id":11,"parent_id":2,"name":"c11"}', at: a }, { table: 'parent', key: '[1]', after: '{"id":1,"name":"p1"}', at: a }, { table: 'parent', key: '[2]', after: '{"id":2,"name":"p2"}', at: a }]));
      await applyUpTo(a);
      // Next window: re-parent c11 to a new parent 3, delete parent 2 (child first would fail on the target otherwise), delete c10 then p1.
      const b = nextHlc();
      const c = nextHlc();
      await ok(body([{ table: 'parent', key: '[2]', after: null, at: c }, { table: 'child', key: '[11]', after: '{"id":11,"parent_id":3,"name":"c11"}', at: b }, { table: 'parent', key: '[3]', after: '{"id":3,"name":"p3"}', at: b }, { table: 'parent', key: '[1]', after: null, at: c }, { table: 'child', key: '[10]', after: null, at: c }]));
      await applyUpTo(c);
      assert.deepEqual(await rows('parent'), [{ id: '3', name: 'p3' }]);
      assert.deepEqual(await rows('child'), [{ id: '11', parent_id: '3', name: 'c11' }]);
    });

    test('delete by key with a composite key in another column order (--sourceKeyColumns rides=city,id)', async () => {
      const a = nextHlc();
      const id1 = '11111111-1111-4111-8111-111111111111';
      const id2 = '22222222-2222-4222-8222-222222222222';
      await ok(body([{ table: 'rides', key: `["rome","${id1}"]`, after: `{"city":"rome","id":"${id1}","fare":10.25}`, at: a }, { table: 'rides', key: `["oslo","${id2}"]`, after: `{"city":"oslo","id":"${id2}","fare":7}`, at: a }]));
      await applyUpTo(a);
      const b = nextHlc();
      await ok(body([{ table: 'rides', key: `["rome","${id1}"]`, after: null, at: b }]));
      await applyUpTo(b);
      assert.deepEqual(await rows('rides'), [{ id: id2, city: 'oslo', fare: '7' }]);
    });

    test('unknown schema (every dialect path form) and unknown table: 400, nothing staged', async () => {
      const before = await stagedTotal();
      for (const u of dc.unknown(target)) {
        const r = await send(body([{ table: 'employees', key: '[9]', after: '{"id":9}', at: nextHlc() }]), { path: u.path });
        assert.equal(r.status, 400);
        assert.equal(r.body, `${u.text}\n`);
        const rr = await send(resolved(nextHlc()), { path: u.path });
        assert.equal(rr.status, 400);
        for (const empty of [fixture('F7-empty-body.json'), '{"payload":[],"length":0}']) {
          const re = await send(empty, { path: u.path });
          assert.equal(re.status, 400, `an empty batch to ${u.path} is still a wrong path`);
          assert.equal(re.body, `${u.text}\n`);
        }
      }
      const t = await send(body([{ table: 'ghost', key: '[1]', after: '{"id":1}', at: nextHlc() }]));
      assert.equal(t.status, 400);
      assert.match(t.body, /unknown table .*"ghost"/);
      assert.equal(await stagedTotal(), before);
    });

    test('bad bodies, bad tokens, bad paths, 413: the right status and nothing staged', async () => {
      const before = await stagedTotal();
      const good = body([{ table: 'seq', key: '[77]', after: '{"id":77,"v":1}', at: nextHlc() }]);
      const noToken = await post(e.engine.webhookUrl, path, good, { agent });
      assert.equal(noToken.status, 401);
      assert.equal(noToken.body, 'missing or invalid access token\n');
      assert.equal((await send(good, { token: 'wrong' })).status, 401);
      assert.equal((await post(e.engine.webhookUrl, path, good, { agent, headers: { authorization: `Basic ${token}` } })).status, 401);
      const few = await send(good, { path: dc.name === 'postgres' ? `/${target.name}` : '/' });
      assert.equal(few.status, 404);
      assert.equal(few.body, '404 page not found\n');
      const cases: Array<[string, RegExp]> = [
        [fixture('F7-empty-topic.json'), /^table name is empty, please ensure the table name is included in the path\n$/],
        [fixture('F7-bad-resolved.json'), /logical part "5" must be 10 digits or zero-valued/],
        ['{"payload":[', /^could not decode payload/],
        [`{"payload":[{"after":{"id":1},"key":[1],"topic":"seq","updated":"${nextHlc()}"}],"length":3}`, /length 3 does not match/],
        [`{"payload":[{"after":{"id":1},"key":1,"topic":"seq","updated":"${nextHlc()}"}]}`, /"key" must be a JSON array/],
        [`{"payload":[{"after":[1],"key":[1],"topic":"seq","updated":"${nextHlc()}"}]}`, /"after" must be a JSON object or null/],
        [`{"payload":[{"after":{"id":1},"key":[1],"topic":"seq","updated":"${nextHlc()}"},{"after":{"id":1},"key":[1],"topic":""}]}`, /table name is empty/],
        [`{"payload":[{"after":{"id":1},"key":[1],"topic":"seq","updated":"${nextHlc()}"}],"length":1,"resolved":"${nextHlc()}"}`, /either "payload" or "resolved", not both/],
        [`{"Payload":[{"after":{"id":1},"key":[1],"topic":"seq","updated":"${nextHlc()}"}],"length":1}`, /expected a "payload" array or a "resolved" timestamp/],
      ];
      for (const [b, re] of cases) {
        const r = await send(b);
        assert.equal(r.status, 400, b);
        assert.match(r.body, re);
      }
      const big = body(Array.from({ length: 2000 }, (_, i) => ({ table: 'seq', key: `[${1000 + i}]`, after: `{"id":${1000 + i},"v":1}`, at: nextHlc() })));
      const r413 = await send(big).catch((err: Error) => ({ status: -1, body: err.message }));
      assert.ok(r413.status === 413 || r413.status === -1, `413 expected, got ${r413.status}`);
      const z = await post(e.engine.webhookUrl, path, gzipSync(Buffer.from(big)), { token, agent, headers: { 'content-encoding': 'gzip' } });
      assert.equal(z.status, 413, 'the limit applies to the decompressed size');
      const zstd = await post(e.engine.webhookUrl, path, good, { token, agent, headers: { 'content-encoding': 'zstd' } });
      assert.equal(zstd.status, 415);
      assert.equal((await post(e.engine.webhookUrl, path, '', { token, agent, method: 'GET' })).status, 405);
      assert.equal(await stagedTotal(), before);
      // access_token in the query string works and is never logged.
      const viaQuery = await post(e.engine.webhookUrl, `${path}?access_token=${encodeURIComponent(token)}`, fixture('F7-empty-body.json'), { agent });
      assert.equal(viaQuery.status, 200);
      const gz = await post(e.engine.webhookUrl, path, gzipSync(Buffer.from(good)), { token, agent, headers: { 'content-encoding': 'gzip' } });
      assert.equal(gz.status, 200);
      assert.equal(e.logs.some((l) => l.includes(token)), false, 'the token never appears in logs');
      assert.equal(e.logs.some((l) => l.includes(target.url.replace(/^.*@/, '').split('/')[0] as string) && /password/.test(l)), false);
    });

    test('health, metrics and diag endpoints', async () => {
      const h = await get(e.engine.healthUrl);
      assert.equal(h.status, 200, h.body);
      assert.equal(h.body, 'OK\n');
      const m = await get(e.engine.metricsUrl);
      for (const name of [
        'apply_upserts_total',
        'apply_deletes_total',
        'apply_errors_total',
        'apply_conflicts_total',
        'apply_duration_seconds',
        'target_applied_timestamp_seconds',
        'target_pending_timestamp_seconds',
        'core_source_lag_seconds',
        'stage_mutations_total',
        'stage_duplicate_mutations_total',
        'stage_duration_seconds',
        'checkpoint_proposed_going_backwards_errors_total',
        'http_status_codes_total',
        'http_latency_seconds',
        'http_payload_in_bytes_total',
        'target_apply_queue_size',
        'target_apply_queue_utilization_percent',
        'failback_applied_lag_seconds',
        'failback_staged_unapplied_mutations',
        'failback_stage_dropped_below_checkpoint_total',
        'failback_webhook_requests_total',
        'process_cpu_user_seconds_total',
      ]) {
        assert.match(m.body, new RegExp(`^# TYPE ${name} `, 'm'), name);
      }
      assert.ok((metricValue(m.body, "apply_upserts_total", `table="employees"`) ?? 0) >= 1);
      assert.equal(metricValue(m.body, 'http_status_codes_total', 'code="401"'), 3);
      const key = dc.schemaKey(target);
      const applied = metricValue(m.body, 'target_applied_timestamp_seconds', `schema="${key}"`) ?? 0;
      assert.ok(applied > 1_759_246_930, String(applied));
      // A resolved timestamp going backwards: 200, counted, ignored.
      const back = await send(fixture('F4-resolved.json'));
      assert.equal(back.status, 200);
      const m2 = await get(e.engine.metricsUrl);
      assert.equal(metricValue(m2.body, 'checkpoint_proposed_going_backwards_errors_total', `schema="${key}"`), 1);
      const d = JSON.parse((await get(e.engine.diagUrl)).body) as Record<string, unknown>;
      assert.equal(d.pid, process.pid);
      assert.equal(d.tls, 'certificate');
      assert.equal(d.auth, 'token-file');
      assert.equal(d.stagingSchema, `${staging.name}.stg_${dc.name}`);
      assert.doesNotMatch(JSON.stringify(d), /tokens"?:\s*"|Bearer/);
      const s = (d.schemas as Array<{ schema: string; leaseHeldHere: boolean; healthy: boolean }>).find((x) => x.schema === key);
      assert.equal(s?.leaseHeldHere, true);
      assert.equal(s?.healthy, true);
      // The row staged by the previous test is pending until a resolved timestamp covers it.
      assert.equal(await stagedTotal(), 1);
      await waitFor('backlog counted as 1', async () => metricValue((await get(e.engine.metricsUrl)).body, 'failback_staged_unapplied_mutations', `schema="${key}"`) === 1);
      await applyUpTo(nextHlc());
      assert.equal(await stagedTotal(), 0);
      await waitFor('backlog counted as 0', async () => {
        const t = (await get(e.engine.metricsUrl)).body;
        return metricValue(t, 'failback_staged_unapplied_mutations', `schema="${key}"`) === 0;
      });
    });
  });
}
