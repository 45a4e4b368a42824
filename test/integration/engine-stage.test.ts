/**
 * The staging store against a real PostgreSQL (standing in for CockroachDB: the SQL is the subset both
 * accept). One database per file, dropped afterwards.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.js';
import { silentLogger } from '../../src/lib/log.js';
import { ZERO_HLC, type Hlc } from '../../src/lib/hlc.js';
import { cleanStaging, dropStagingSchema, inspectStaging, openStagingPool, purgeTargetSchema, StagingStore, type StagingPool } from '../../src/replicator/stage/index.js';
import type { TargetSchema } from '../../src/replicator/types.js';
import { binaryArrayOf, OID, textArray, textArrayLiteral } from '../../src/replicator/pg-arrays.js';

let db: TestDatabase;
let sp: StagingPool;
let store: StagingStore;
const schema: TargetSchema = { parts: ['Migration_DB', 'public'], key: 'migration_db.public' };
const h = (n: number | bigint, l = 0): Hlc => ({ nanos: BigInt(n), logical: l });
const stagingSchema = () => `${db.name}.stg`;

before(async () => {
  db = await createPgDatabase('engine_stage');
  sp = await openStagingPool(db.url, stagingSchema(), { create: true, log: silentLogger() });
  store = new StagingStore(sp.pool, sp.schema);
  await store.init();
  await store.init(); // idempotent
});

after(async () => {
  await sp?.pool.end();
  await db?.drop();
});

test('missing schema without --stagingCreateSchema is a clear error', async () => {
  await assert.rejects(openStagingPool(db.url, `${db.name}.nope`, { create: false, log: silentLogger() }), /staging schema .*nope does not exist.*/);
  await assert.rejects(openStagingPool(db.url, `${db.name}_absent.x`, { create: false, log: silentLogger() }), /staging database ".*_absent" does not exist/);
});

test('--stagingCreateSchema creates the database through the URL database', async () => {
  const other = `${db.name}_c`;
  const p = await openStagingPool(db.url, `${other}.s1`, { create: true, log: silentLogger() });
  await p.pool.end();
  const again = await openStagingPool(db.url, `${other}.s1`, { create: true, log: silentLogger() });
  await again.pool.end();
  const admin = await openStagingPool(db.url, `${db.name}.stg`, { create: false, log: silentLogger() });
  await admin.pool.query(`DROP DATABASE "${other}" WITH (FORCE)`);
  await admin.pool.end();
});

test('mutations: duplicates are no-ops and counted; raw text and INT8 nanos exact', async () => {
  const rows = [
    { hlc: h(1759246921004412000n), table: 'employees', key: '[1]', after: '{"id":1,"big":1101234051444375553,"d":125.50}' },
    { hlc: h(1759246921004412000n), table: 'employees', key: '[2]', after: null, before: '{"id":2}' },
    { hlc: h(1759246922007000000n, 1), table: 'payments', key: '["x"]', after: '{"id":"x"}' },
  ];
  const first = await store.putMutations(schema, rows);
  assert.deepEqual([...first.inserted].sort(), [['employees', 2], ['payments', 1]]);
  assert.equal(first.duplicates.size, 0);
  const second = await store.putMutations(schema, [...rows, rows[0] as (typeof rows)[0]]);
  assert.equal(second.inserted.size, 0);
  assert.deepEqual([...second.duplicates].sort(), [['employees', 3], ['payments', 1]]);
  const read = await store.readRange(schema.key, ZERO_HLC, h(1759246922007000000n, 1), 10);
  assert.deepEqual(
    read.map((r) => [r.hlc.nanos, r.hlc.logical, r.table, r.key, r.after, r.before]),
    [
      [1759246921004412000n, 0, 'employees', '[1]', '{"id":1,"big":1101234051444375553,"d":125.50}', null],
      [1759246921004412000n, 0, 'employees', '[2]', null, '{"id":2}'],
      [1759246922007000000n, 1, 'payments', '["x"]', '{"id":"x"}', null],
    ],
  );
  // Bounds: (applied, upTo]
  assert.equal((await store.readRange(schema.key, h(1759246921004412000n), h(1759246922007000000n, 1), 10)).length, 1);
  assert.equal((await store.readRange(schema.key, ZERO_HLC, h(1759246922007000000n, 0), 10)).length, 2);
});

test('a large batch is staged in one transaction across several statements', async () => {
  const s2: TargetSchema = { parts: ['big'], key: 'big' };
  const rows = Array.from({ length: 12_000 }, (_, i) => ({ hlc: h(1000 + (i % 7)), table: 't', key: `[${i}]`, after: `{"id":${i}}` }));
  const res = await store.putMutations(s2, rows);
  assert.equal(res.inserted.get('t'), 12_000);
  assert.equal(await store.countPending('big', ZERO_HLC, 20_000), 12_000);
  assert.equal(await store.countPending('big', ZERO_HLC, 100), 100);
  const one = await store.readHlc('big', h(1003), 500);
  assert.equal(one.length, Math.ceil((12_000 - 3) / 7));
  assert.deepEqual(one.map((r) => r.key), [...one.map((r) => r.key)].sort());
});

test('resolved timestamps: stored, duplicate, backwards ignored', async () => {
  assert.equal(await store.putResolved(schema, h(100)), 'stored');
  assert.equal(await store.putResolved(schema, h(100)), 'duplicate');
  assert.equal(await store.putResolved(schema, h(50)), 'backwards');
  assert.equal(await store.putResolved(schema, h(200, 1)), 'stored');
  const p = (await store.progress()).find((x) => x.schema.key === schema.key);
  assert.deepEqual(p?.schema.parts, ['Migration_DB', 'public']);
  assert.deepEqual(p?.resolved, h(200, 1));
  assert.deepEqual(p?.applied, ZERO_HLC);
});

test('leases: exclusive, renewable, fenced mark-applied, takeover after expiry', async () => {
  const name = `apply:${schema.key}`;
  assert.equal(await store.acquire(name, 'A', 300), true);
  assert.equal(await store.acquire(name, 'B', 300), false);
  assert.equal(await store.renew(name, 'A', 300), true);
  assert.equal(await store.renew(name, 'B', 300), false);
  assert.equal(await store.markApplied(schema.key, h(150), 'B'), false);
  assert.equal(await store.markApplied(schema.key, h(150), 'A'), true);
  assert.equal(await store.markApplied(schema.key, h(120), 'A'), true, 'never backwards, still true');
  let p = (await store.progress()).find((x) => x.schema.key === schema.key);
  assert.deepEqual(p?.applied, h(150));
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(await store.renew(name, 'A', 300), false, 'expired');
  assert.equal(await store.acquire(name, 'B', 5000), true, 'taken over');
  assert.equal(await store.markApplied(schema.key, h(160), 'A'), false, 'old holder fenced');
  await store.release(name, 'A');
  assert.equal(await store.acquire(name, 'C', 300), false, 'release by a non-holder does nothing');
  await store.release(name, 'B');
  assert.equal(await store.acquire(name, 'C', 300), true);
  await store.release(name, 'C');
  // resolved 100 < applied 150: a new 120 is backwards
  assert.equal(await store.putResolved(schema, h(120)), 'backwards');
  p = (await store.progress()).find((x) => x.schema.key === schema.key);
  assert.deepEqual(p?.resolved, h(200, 1));
});

test('staging insert: the plain insert falls back to the duplicate-tolerant one on a re-delivery, and stays tolerant for a while', async () => {
  const s3: TargetSchema = { parts: ['dups'], key: 'dups' };
  let now = 1_000_000;
  const statements: string[] = [];
  const query = sp.pool.query;
  // Records which insert form each staging write used (the pool itself is shared with other tests).
  sp.pool.query = function (this: unknown, ...args: unknown[]) {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text: string }).text;
    if (/failback_mutations/.test(text) && /^(WITH|INSERT)/.test(text)) statements.push(text.startsWith('WITH') ? 'tolerant' : 'plain');
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  after(() => {
    sp.pool.query = query;
  });
  const store3 = new StagingStore(sp.pool, sp.schema, { now: () => now });
  const a = { hlc: h(5000), table: 't', key: '[1]', after: '{"id":1}' };
  const b = { hlc: h(5000), table: 't', key: '[2]', after: '{"id":2}' };
  const c = { hlc: h(5001), table: 'u', key: '[3]', after: '{"id":3}' };
  assert.deepEqual([...(await store3.putMutations(s3, [a])).inserted], [['t', 1]]);
  const mixed = await store3.putMutations(s3, [a, b, c]);
  assert.deepEqual([...mixed.inserted].sort(), [['t', 1], ['u', 1]]);
  assert.deepEqual([...mixed.duplicates], [['t', 1]]);
  const d = { hlc: h(5002), table: 't', key: '[4]', after: '{"id":4}' };
  await store3.putMutations(s3, [d]);
  now += 60_000;
  const e = { hlc: h(5003), table: 't', key: '[5]', after: '{"id":5}' };
  await store3.putMutations(s3, [e]);
  sp.pool.query = query;
  assert.deepEqual(statements, ['plain', 'plain', 'tolerant', 'tolerant', 'plain'], 'plain first; tolerant after a duplicate until the window passes');
  const read = await store3.readRange('dups', ZERO_HLC, h(6000), 10);
  assert.deepEqual(read.map((r) => r.key), ['[1]', '[2]', '[3]', '[4]', '[5]'], 'nothing lost, nothing doubled');
});

test('staging insert: binary arrays keep UTF-8 text, NULLs and raw byte spans exactly', async () => {
  const s4: TargetSchema = { parts: ['utf'], key: 'utf' };
  const body = Buffer.from('xx{"name":"Zoë 🚀 \\"q\\" \\\\ end"}yy', 'utf8');
  const start = body.indexOf('{');
  const end = body.lastIndexOf('}') + 1;
  const rows = [
    { hlc: h(7000), table: 'Tâble', key: '["ü"]', after: 'ignored when rawAfter is set', rawAfter: { bytes: body, start, end } },
    { hlc: h(7000), table: 'Tâble', key: '["v"]', after: null, rawAfter: null, before: '{"name":"前"}' },
    { hlc: h(7001), table: 't', key: '[1]', after: '{"s":"a\\u0000b"}' },
  ];
  await store.putMutations(s4, rows);
  const read = await store.readRange('utf', ZERO_HLC, h(8000), 10);
  assert.deepEqual(
    read.map((r) => [r.table, r.key, r.after, r.before]),
    [
      ['Tâble', '["v"]', null, '{"name":"前"}'],
      ['Tâble', '["ü"]', body.toString('utf8', start, end), null],
      ['t', '[1]', '{"s":"a\\u0000b"}', null],
    ],
  );
  assert.equal(read[0]?.hlc, read[1]?.hlc, 'rows of one source transaction share one Hlc object');
});

test('retire: a window (from, to] alone, or the catch-all sweep below the checkpoint', async () => {
  const s5: TargetSchema = { parts: ['ret'], key: 'ret' };
  await store.putMutations(s5, [1, 2, 3, 4, 5, 6].map((i) => ({ hlc: h(9000 + i), table: 't', key: `[${i}]`, after: `{"id":${i}}` })));
  assert.equal(await store.retire('ret', h(9004), h(9002)), 2, 'only (9002, 9004]');
  assert.deepEqual((await store.readRange('ret', ZERO_HLC, h(9999), 10)).map((r) => r.key), ['[1]', '[2]', '[5]', '[6]']);
  assert.equal(await store.retire('ret', h(9004), h(9004)), 0, 'an empty window deletes nothing');
  assert.equal(await store.retire('ret', h(9005)), 3, 'the sweep takes everything at or below');
  assert.deepEqual((await store.readRange('ret', ZERO_HLC, h(9999), 10)).map((r) => r.key), ['[6]']);
});

test('array parameters: binary and hand-built text literals read back exactly on the server', async () => {
  const tricky = ['plain', '', 'NULL', 'null', ' lead', 'trail ', 'a,b', '{x}', 'say "hi"', 'back\\slash', 'Zoë 🚀', '1.5e-3', '2026-11-27T14:00:00.123456Z', null];
  const r1 = await sp.pool.query<{ a: (string | null)[] }>('SELECT $1::TEXT[] AS a', [textArrayLiteral(tricky)]);
  assert.deepEqual(r1.rows[0]?.a, tricky);
  const r2 = await sp.pool.query<{ a: (string | null)[] }>('SELECT $1::TEXT[] AS a', [textArray(tricky)]);
  assert.deepEqual(r2.rows[0]?.a, tricky);
  const ints = ['1101234051444375553', '-9223372036854775808', '42', null];
  const r3 = await sp.pool.query<{ a: string }>('SELECT $1::INT8[]::TEXT AS a', [binaryArrayOf(ints, OID.int8)]);
  assert.equal(r3.rows[0]?.a, '{1101234051444375553,-9223372036854775808,42,NULL}');
  const r4 = await sp.pool.query<{ a: string }>('SELECT $1::NUMERIC[]::TEXT AS a', [textArrayLiteral(['125.50', '-0.000001', '1E+3', null])]);
  assert.equal(r4.rows[0]?.a, '{125.50,-0.000001,1000,NULL}');
});

test('inspect, retire, clean and drop', async () => {
  const report = await inspectStaging(db.url, stagingSchema());
  assert.equal(report.exists, true);
  const t = report.targets.find((x) => x.targetSchema === schema.key);
  assert.ok(t);
  assert.equal(t.applied, '150.0000000000');
  assert.equal(t.latestResolved, '200.0000000001');
  assert.equal(t.pendingTotal, 3);
  assert.deepEqual(t.pending, { employees: 2, payments: 1 });
  assert.equal(t.oldestPending, '1759246921004412000.0000000000');
  // retire below the checkpoint: nothing at or below 150 is staged for this schema
  assert.equal(await store.retire(schema.key, h(150)), 0);
  const name = `apply:${schema.key}`;
  assert.equal(await store.acquire(name, 'X', 5000), true);
  await assert.rejects(cleanStaging(db.url, stagingSchema(), { targetSchema: 'Migration_DB.public' }), /engine is applying/);
  await store.release(name, 'X');
  assert.deepEqual(await cleanStaging(db.url, stagingSchema(), { targetSchema: 'MIGRATION_DB.PUBLIC', tables: ['Payments'] }), { mutations: 1, checkpoints: 0 });
  assert.deepEqual(await cleanStaging(db.url, stagingSchema(), { targetSchema: schema, includeCheckpoints: true }), { mutations: 2, checkpoints: 2 }, 'one resolved row (100 was retired below 150) and the checkpoint');
  const after2 = await inspectStaging(db.url, stagingSchema());
  assert.equal(after2.targets.some((x) => x.targetSchema === schema.key), false);
  assert.equal(await store.retire('big', h(1003)), Array.from({ length: 12_000 }, (_, i) => i % 7).filter((r) => r <= 3).length);
  // Purging one failback keeps the tables while another target schema still has rows in them.
  const other: TargetSchema = { parts: ['other_db', 'public'], key: 'other_db.public' };
  await store.putMutations(schema, [{ hlc: h(300), table: 'employees', key: '[5]', after: '{"id":5}' }]);
  await store.putMutations(other, [{ hlc: h(300), table: 'accounts', key: '[6]', after: '{"id":6}' }]);
  const before = (await inspectStaging(db.url, stagingSchema())).targets.map((x) => x.targetSchema);
  const purged = await purgeTargetSchema(db.url, stagingSchema(), schema);
  assert.equal(purged.mode, 'cleaned');
  assert.ok(purged.others.includes(other.key));
  assert.equal(purged.mutations, 1);
  const left = await inspectStaging(db.url, stagingSchema());
  assert.deepEqual(left.targets.map((x) => x.targetSchema), before.filter((k) => k !== schema.key));
  assert.equal(left.targets.find((x) => x.targetSchema === other.key)?.pendingTotal, 1, "the other failback's staged row is still there");
  for (const k of left.targets.map((x) => x.targetSchema)) await cleanStaging(db.url, stagingSchema(), { targetSchema: k, includeCheckpoints: true });
  // A schema shared with other tables is kept; ours are dropped.
  await sp.pool.query('CREATE TABLE stg.not_ours (x INT)');
  const dropped = await dropStagingSchema(db.url, stagingSchema());
  assert.equal(dropped.droppedTables.length, 5);
  assert.equal(dropped.droppedSchema, false);
  assert.equal((await inspectStaging(db.url, stagingSchema())).exists, false);
  await sp.pool.query('DROP TABLE stg.not_ours');
  await store.init();
  await sp.pool.end();
  const d2 = await dropStagingSchema(db.url, stagingSchema());
  assert.equal(d2.droppedSchema, true);
  assert.deepEqual(await inspectStaging(db.url, stagingSchema()), { stagingSchema: stagingSchema(), exists: false, targets: [] });
  sp = await openStagingPool(db.url, stagingSchema(), { create: true, log: silentLogger() });
});
