/**
 * The engine as real processes (`replicator start` from source in a child process): kill -9 between the
 * target commit and the staging mark (test-only hook) then restart converges; two instances share one
 * staging schema (both accept, one applies, the other takes over after kill -9); SIGTERM exits 0 within
 * the grace period, abandoning a window stuck on a target lock; --exitWithPid stops it when the watched
 * process dies; startup failures exit 1 with the reason; --help lists every flag.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.js';
import { ENGINE_SETTINGS, inspectStaging, UNSUPPORTED_MOLT_FLAGS } from '../../src/replicator/index.js';
import { diagSchemas, get, metricValue, post, spawnEngine, tempDir, tokenFile, waitApplied, waitFor, type ChildEngine } from './engine-support.js';

let staging: TestDatabase;
let target: TestDatabase;
let tgt: pg.Client;
let token: string;
let tokens: string;
const children: ChildEngine[] = [];
const schemaKey = () => `${target.name}.public`;
const path = () => `/${target.name}/public`;

before(async () => {
  staging = await createPgDatabase('engine_proc_stg');
  target = await createPgDatabase('engine_proc_tgt');
  tgt = new pg.Client({ connectionString: target.url });
  await tgt.connect();
  await tgt.query('CREATE TABLE seq (id INT8 PRIMARY KEY, v INT8 NOT NULL)');
  ({ file: tokens, token } = tokenFile(tempDir('engine-proc')));
});

after(async () => {
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  await tgt?.end();
  await target?.drop();
  await staging?.drop();
});

function start(stagingSchema: string, extraEnv: Record<string, string> = {}, extraArgs: string[] = []): ChildEngine {
  const c = spawnEngine(
    ['--stagingSchema', stagingSchema, '--stagingCreateSchema', '--bindAddr', '127.0.0.1:0', '--metricsAddr', '127.0.0.1:0', '--authTokenFile', tokens, '--flushPeriod', '100ms', '--quiescentPeriod', '500ms', '-v', ...extraArgs],
    { MOLT_FAILBACK_REPLICATOR_TARGET_CONN: target.url, MOLT_FAILBACK_REPLICATOR_STAGING_CONN: staging.url, ...extraEnv },
  );
  children.push(c);
  return c;
}

let tick = 0n;
const nextHlc = () => `${1800000000000000000n + ++tick * 1_000_000n}.0000000000`;
const upserts = (from: number, to: number, v: number, at: string) => {
  const msgs = [];
  for (let i = from; i <= to; i++) msgs.push(`{"after":{"id":${i},"v":${v}},"key":[${i}],"topic":"seq","updated":"${at}"}`);
  return `{"payload":[${msgs.join(',')}],"length":${msgs.length}}`;
};
const resolved = (at: string) => `{"resolved":"${at}"}`;

async function ok(base: string, body: string) {
  const r = await post(base, path(), body, { token });
  assert.equal(r.status, 200, r.body);
}

async function targetRows(): Promise<Array<{ id: string; v: string }>> {
  return (await tgt.query<{ id: string; v: string }>('SELECT id, v FROM seq ORDER BY id')).rows;
}

test('kill -9 between the target commit and marking the window applied; a restart converges', async () => {
  const schema = `${staging.name}.crash`;
  const a = start(schema, { MOLT_FAILBACK_REPLICATOR_TEST_CRASH_AFTER_COMMIT: '1' });
  const { listen } = await a.ready;
  const t1 = nextHlc();
  await ok(listen, upserts(1, 50, 1, t1));
  await ok(listen, resolved(t1));
  const exit = await a.exited;
  assert.equal(exit.signal, 'SIGKILL', a.output());
  assert.match(a.output(), /TEST HOOK: SIGKILL after target commit/);
  // The target committed, staging was never told.
  assert.equal((await targetRows()).length, 50);
  const mid = (await inspectStaging(staging.url, schema)).targets.find((t) => t.targetSchema === schemaKey());
  assert.equal(mid?.applied, null);
  assert.equal(mid?.pendingTotal, 50);

  const b = start(schema);
  const { listen: l2, metrics } = await b.ready;
  await waitApplied(`${metrics}/_/diag`, schemaKey(), t1);
  const t2 = nextHlc();
  await ok(l2, upserts(1, 10, 2, t2));
  await ok(l2, resolved(t2));
  await waitApplied(`${metrics}/_/diag`, schemaKey(), t2);
  const rows = await targetRows();
  assert.equal(rows.length, 50);
  assert.deepEqual(rows.slice(0, 11).map((r) => r.v), ['2', '2', '2', '2', '2', '2', '2', '2', '2', '2', '1']);
  const done = (await inspectStaging(staging.url, schema)).targets.find((t) => t.targetSchema === schemaKey());
  assert.equal(done?.applied, t2);
  assert.equal(done?.pendingTotal, 0);
  b.child.kill('SIGTERM');
  assert.equal((await b.exited).code, 0);
});

test('two instances share staging: both accept, one applies, the other takes over after kill -9', async () => {
  await tgt.query('TRUNCATE seq');
  const schema = `${staging.name}.shared`;
  const a = start(schema);
  const b = start(schema);
  const [ra, rb] = await Promise.all([a.ready, b.ready]);
  const t1 = nextHlc();
  await ok(ra.listen, upserts(1, 20, 1, t1));
  await ok(rb.listen, upserts(21, 40, 1, t1));
  await ok(rb.listen, resolved(t1));
  await waitApplied(`${ra.metrics}/_/diag`, schemaKey(), t1);
  await waitApplied(`${rb.metrics}/_/diag`, schemaKey(), t1);
  assert.equal((await targetRows()).length, 40);
  const holders = await Promise.all([ra, rb].map(async (r) => (await diagSchemas(`${r.metrics}/_/diag`)).find((s) => s.schema === schemaKey())?.leaseHeldHere));
  assert.deepEqual([...holders].sort(), [false, true], 'exactly one instance holds the apply lease');
  const [holder, other] = holders[0] ? [a, b] : [b, a];
  const [rh, ro] = holders[0] ? [ra, rb] : [rb, ra];
  assert.equal(metricValue((await get(`${ro.metrics}/_/varz`)).body, 'apply_upserts_total', `schema="${schemaKey()}"`) ?? 0, 0, 'the other instance applied nothing');
  assert.ok((metricValue((await get(`${rh.metrics}/_/varz`)).body, 'apply_upserts_total', `schema="${schemaKey()}"`) ?? 0) >= 40);

  holder.child.kill('SIGKILL');
  await holder.exited;
  const t2 = nextHlc();
  await ok(ro.listen, upserts(41, 60, 2, t2));
  await ok(ro.listen, resolved(t2));
  const started = Date.now();
  await waitApplied(`${ro.metrics}/_/diag`, schemaKey(), t2, 20_000);
  const took = Date.now() - started;
  assert.ok(took < 10_000, `takeover took ${took} ms`);
  assert.equal((await targetRows()).length, 60);
  assert.equal((await diagSchemas(`${ro.metrics}/_/diag`)).find((s) => s.schema === schemaKey())?.leaseHeldHere, true);
  other.child.kill('SIGTERM');
  assert.equal((await other.exited).code, 0);
});

test('SIGTERM exits 0 within the grace period, abandoning a window blocked on the target', async () => {
  const schema = `${staging.name}.term`;
  const c = start(schema, {}, ['--gracePeriod', '4s']);
  const { listen, metrics } = await c.ready;
  const t1 = nextHlc();
  await ok(listen, upserts(1, 5, 7, t1));
  // Hold a lock so the apply blocks inside its target transaction.
  const locker = new pg.Client({ connectionString: target.url });
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query('LOCK TABLE seq IN ACCESS EXCLUSIVE MODE');
  try {
    await ok(listen, resolved(t1));
    await waitFor('the apply to start', async () => (await get(`${metrics}/_/varz`)).body.includes('core_sweep_active_bool{schema="' + schemaKey() + '"} 1'));
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    c.child.kill('SIGTERM');
    const exit = await c.exited;
    const took = Date.now() - t0;
    assert.equal(exit.code, 0, c.output());
    assert.ok(took < 4000 + 2500, `exit took ${took} ms (grace 4 s)`);
    assert.match(c.output(), /Server shutdown complete/);
    assert.match(c.output(), /abandoning the window in flight/);
  } finally {
    await locker.query('ROLLBACK');
    await locker.end();
  }
  const t = (await inspectStaging(staging.url, schema)).targets.find((x) => x.targetSchema === schemaKey());
  assert.equal(t?.applied, null, 'nothing marked applied');
  assert.equal(t?.pendingTotal, 5, 'the window stays staged');
  assert.equal(t?.lease, null, 'lease released');
  assert.deepEqual((await targetRows()).filter((r) => r.v === '7'), [], 'the abandoned transaction was rolled back');
});

test('--exitWithPid: the engine stops cleanly once the watched process has gone', async () => {
  const watched = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    const c = start(`${staging.name}.watch`, {}, ['--exitWithPid', String(watched.pid)]);
    await c.ready;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(c.child.exitCode, null, 'still running while the watched process lives');
    watched.kill('SIGKILL');
    const exit = await c.exited;
    assert.equal(exit.code, 0, c.output());
    assert.match(c.output(), /the watched process has exited/);
    assert.match(c.output(), /Server shutdown complete/);
  } finally {
    watched.kill('SIGKILL');
  }
});

test('an unreachable target is not fatal: the engine starts, stages, reports unhealthy', async () => {
  const c = spawnEngine(['--stagingSchema', `${staging.name}.down`, '--stagingCreateSchema', '--bindAddr', '127.0.0.1:0', '--metricsAddr', '127.0.0.1:0', '--disableAuthentication', '--healthCheckTimeout', '1s'], {
    MOLT_FAILBACK_REPLICATOR_TARGET_CONN: 'postgres://nobody:secretpw@127.0.0.1:1/nowhere',
    MOLT_FAILBACK_REPLICATOR_STAGING_CONN: staging.url,
  });
  children.push(c);
  const { listen, metrics } = await c.ready;
  const h = await get(`${metrics}/_/healthz`);
  assert.equal(h.status, 503);
  assert.match(h.body, /target unreachable/);
  assert.doesNotMatch(h.body + c.output(), /secretpw/);
  const r = await post(listen, '/nowhere/public', upserts(1, 1, 1, nextHlc()));
  assert.equal(r.status, 200, 'staged while the target is down');
  c.child.kill('SIGINT');
  assert.equal((await c.exited).code, 0);
});

test('startup failures exit 1 with the reason', async () => {
  const cases: Array<{ args: string[]; env: Record<string, string>; re: RegExp }> = [
    { args: ['--disableAuthentication', '--bindAddr', '127.0.0.1:0'], env: { MOLT_FAILBACK_REPLICATOR_TARGET_CONN: target.url, MOLT_FAILBACK_REPLICATOR_STAGING_CONN: 'postgres://x:pw@127.0.0.1:1/db' }, re: /STAGING_UNREACHABLE/ },
    { args: ['--disableAuthentication', '--flushSize', 'many'], env: { MOLT_FAILBACK_REPLICATOR_TARGET_CONN: target.url }, re: /flushSize/ },
    { args: ['--bestEffortOnly'], env: { MOLT_FAILBACK_REPLICATOR_TARGET_CONN: target.url }, re: /--bestEffortOnly is not supported by molt-failback/ },
    { args: ['--collapseMutations=false', '--nonsense'], env: { MOLT_FAILBACK_REPLICATOR_TARGET_CONN: target.url }, re: /nonsense/ },
    { args: [], env: { MOLT_FAILBACK_REPLICATOR_TARGET_CONN: target.url }, re: /authTokenFile/ },
  ];
  for (const k of cases) {
    const c = spawnEngine(k.args, k.env);
    children.push(c);
    const exit = await c.exited;
    assert.equal(exit.code, 1, c.output());
    assert.match(c.output(), k.re);
  }
});

test('--help lists every flag (built CLI)', async () => {
  const bin = new URL('../../bin/run.js', import.meta.url).pathname;
  assert.ok(existsSync(new URL('../../dist/commands/replicator/start.js', import.meta.url)), 'dist/ is missing: run `npm run build` first (npm test does)');
  const { stdout } = await promisify(execFile)(process.execPath, [bin, 'replicator', 'start', '--help'], { maxBuffer: 1 << 20 });
  for (const d of ENGINE_SETTINGS) {
    if (d.envOnly) continue;
    assert.match(stdout, new RegExp(`--(\\[no-\\])?${d.key}\\b`), d.key);
    // Long names may be wrapped by oclif's column layout.
    assert.ok(stdout.replace(/\s+/g, '').includes(d.env as string), d.env);
  }
  for (const u of UNSUPPORTED_MOLT_FLAGS) assert.match(stdout, new RegExp(`--${u.name}\\b`), u.name);
  assert.match(stdout, /-v, --verbose/);
  const mt = await promisify(execFile)(process.execPath, [bin, 'replicator', 'make-token', '--help']);
  assert.match(mt.stdout, /--out/);
});

test('make-token prints a token, or writes it 0600 and prints the webhook_auth_header value', async () => {
  const bin = new URL('../../bin/run.js', import.meta.url).pathname;
  const run = promisify(execFile);
  const plain = await run(process.execPath, [bin, 'replicator', 'make-token']);
  assert.match(plain.stdout, /^[A-Za-z0-9_-]{43}\n$/);
  const file = `${tempDir('make-token')}/t`;
  const out = await run(process.execPath, [bin, 'replicator', 'make-token', '--out', file]);
  const { readFileSync, statSync } = await import('node:fs');
  const token = readFileSync(file, 'utf8').trim();
  assert.equal(out.stdout, `Bearer ${token}\n`);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  await run(process.execPath, [bin, 'replicator', 'make-token', '--out', file, '--append']);
  assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 2);
});
