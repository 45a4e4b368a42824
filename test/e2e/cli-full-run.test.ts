/**
 * The whole runbook through the CLI, as CI would run it: `run --yes --json` against the CockroachDB
 * emulator (src/sandbox/crdb, over a real PostgreSQL database: no CockroachDB server exists here) and a
 * real PostgreSQL target, every step verified, rows written on "CockroachDB" arriving in the target
 * through the embedded engine; then `status` shows the live picture, and `teardown --purge-staging --yes`
 * ends it, twice (the second time harmlessly).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { STEP_IDS } from '../../src/steps/config.js';
import { startCrdbWorld, type CrdbWorld } from '../helpers/crdb-bed.js';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.js';
import { describeRun, parseJson, runCli } from '../helpers/cli.js';

let dir: string;
let world: CrdbWorld;
let target: TestDatabase;
let targetClient: pg.Client;
let env: Record<string, string>;
let enginePid: number | undefined;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mf-full-'));
  world = await startCrdbWorld('mf_cli_full');
  target = await createPgDatabase('mf_cli_full_target');
  await world.sql('CREATE TABLE employees (id INT8 PRIMARY KEY, name STRING NOT NULL)');
  await world.sql("INSERT INTO employees VALUES (1, 'before the failback')");
  targetClient = new pg.Client({ connectionString: target.url });
  await targetClient.connect();
  await targetClient.query('CREATE TABLE employees (id BIGINT PRIMARY KEY, name TEXT NOT NULL)');
  await targetClient.query("INSERT INTO employees VALUES (1, 'before the failback')");
  env = {
    MOLT_FAILBACK_CRDB_CONN: world.emu.url,
    MOLT_FAILBACK_TARGET_CONN: target.url,
    MOLT_FAILBACK_TABLES: 'employees',
    MOLT_FAILBACK_STATE: join(dir, 'state.json'),
    MOLT_FAILBACK_BIND_ADDR: `127.0.0.1:${await freePort()}`,
    MOLT_FAILBACK_METRICS_ADDR: `127.0.0.1:${await freePort()}`,
    MOLT_FAILBACK_WEBHOOK_HOST: 'localhost',
    // No forward replicator in this test: its drain and stop are confirmed by consent flags.
    MOLT_FAILBACK_CONFIRM_DRAINED: 'true',
    MOLT_FAILBACK_CONFIRM_FORWARD_STOPPED: 'true',
    MOLT_FAILBACK_MONITOR_TIMEOUT: '90s',
  };
});

after(async () => {
  // Never leave an engine behind, whatever failed above.
  if (enginePid) {
    try {
      process.kill(enginePid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await targetClient?.end().catch(() => undefined);
  await world?.close();
  await target?.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** Gone, or a zombie: the detached engine's parent has exited, and PID 1 here may not reap children. */
function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function targetNames(): Promise<Map<number, string>> {
  const r = await targetClient.query<{ id: string; name: string }>('SELECT id, name FROM employees ORDER BY id');
  return new Map(r.rows.map((x) => [Number(x.id), x.name]));
}

async function eventually(what: string, fn: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('run --yes --json takes a failback from nothing to verified, and changes reach the target', async () => {
  // Keep writing on "CockroachDB" while the wizard runs, so monitor-changefeed has data to prove.
  let next = 100;
  const writer = setInterval(() => {
    const id = next++;
    world.sql('INSERT INTO employees VALUES ($1, $2)', [id, `written during the run ${id}`]).catch(() => undefined);
  }, 400);
  let r;
  try {
    r = await runCli(['run', '--yes', '--json'], { env, timeoutMs: 300_000, cwd: dir });
  } finally {
    clearInterval(writer);
  }
  const state = JSON.parse(readFileSync(env.MOLT_FAILBACK_STATE as string, 'utf8')) as { steps: Record<string, { status: string; outputs: Record<string, unknown> }> };
  enginePid = state.steps['start-replicator']?.outputs.pid as number | undefined;
  assert.equal(r.code, 0, describeRun(r));
  const out = parseJson<{ ok: boolean; results: Array<{ id: string; outcome: string }>; nextActions: string[] }>(r);
  assert.equal(out.ok, true);
  assert.deepEqual(
    out.results.map((x) => x.id),
    [...STEP_IDS],
  );
  for (const x of out.results) assert.ok(x.outcome === 'verified' || x.outcome === 'adopted', `${x.id}: ${x.outcome}`);
  for (const id of STEP_IDS) assert.equal(state.steps[id]?.status, 'verified', id);
  const stateText = readFileSync(env.MOLT_FAILBACK_STATE as string, 'utf8');
  const token = readFileSync(join(dir, 'replicator.token'), 'utf8').trim();
  assert.ok(token.length > 0 && !stateText.includes(token), 'the engine token is not in the state');
  assert.ok(!stateText.includes('PRIVATE KEY'), 'no key material in the state');

  await world.sql("INSERT INTO employees VALUES (7, 'after the run')");
  await world.sql("UPDATE employees SET name = 'updated on CockroachDB' WHERE id = 1");
  await eventually('the new row and the update in the target', async () => {
    const names = await targetNames();
    return names.get(7) === 'after the run' && names.get(1) === 'updated on CockroachDB';
  });

  // A second run adopts everything and changes nothing.
  const again = await runCli(['run', '--yes', '--json'], { env, timeoutMs: 300_000, cwd: dir });
  assert.equal(again.code, 0, describeRun(again));
  const second = parseJson<{ results: Array<{ id: string; outcome: string }> }>(again);
  const restarted = second.results.filter((x) => x.id === 'start-replicator' || x.id === 'create-changefeed');
  assert.ok(restarted.every((x) => x.outcome === 'adopted'), JSON.stringify(restarted));
});

test('status shows the live changefeed and engine', async () => {
  const r = await runCli(['status', '--json', '--interval', '500ms'], { env, timeoutMs: 120_000, cwd: dir });
  assert.equal(r.code, 0, describeRun(r));
  const out = parseJson<{ live: { changefeed: { reachable: boolean; found: boolean; status: string; resolved?: { hlc: string; at: string } }; engine: { reachable: boolean; rowsApplied: number; webhookRequests: number } }; nextActions: string[] }>(r);
  assert.equal(out.live.changefeed.reachable, true, JSON.stringify(out.live));
  assert.equal(out.live.changefeed.status, 'running');
  assert.match(out.live.changefeed.resolved?.hlc ?? '', /^\d+\.\d{10}$/);
  assert.equal(out.live.engine.reachable, true);
  assert.ok(out.live.engine.rowsApplied > 0);
  assert.ok(out.live.engine.webhookRequests > 0);
  assert.match(out.nextActions.join('\n'), /teardown/);
});

test('teardown --purge-staging --yes cancels our changefeed, stops our engine, drops staging; a second teardown is harmless', async () => {
  // Someone else's changefeed aimed at our engine's webhook: teardown must name it and leave it alone.
  const port = (env.MOLT_FAILBACK_BIND_ADDR as string).split(':').pop();
  const [foreign] = await world.sql<{ job_id: string }>(
    `CREATE CHANGEFEED FOR TABLE employees INTO 'webhook-https://localhost:${port}/elsewhere/public?insecure_tls_skip_verify=true' WITH resolved = '1s'`,
  );
  const foreignId = String(foreign?.job_id);
  try {
    const r = await runCli(['teardown', '--purge-staging', '--yes', '--json'], { env, timeoutMs: 120_000, cwd: dir });
    assert.equal(r.code, 0, describeRun(r));
    const out = parseJson<{ changefeed: { outcome: string }; engine: { outcome: string }; staging: { outcome: string; detail: string }; leftAlone: string[] }>(r);
    assert.equal(out.changefeed.outcome, 'done');
    assert.equal(out.engine.outcome, 'done');
    assert.equal(out.staging.outcome, 'done', out.staging.detail);
    assert.match(out.leftAlone.join('\n'), new RegExp(`changefeed job ${foreignId} .*did not create it`));
    if (enginePid) assert.ok(processGone(enginePid), 'the engine process is gone');
    const jobs = await world.sql<{ job_id: string; status: string }>('SELECT job_id, status FROM [SHOW CHANGEFEED JOBS]');
    for (const j of jobs) assert.equal(j.status === 'running', String(j.job_id) === foreignId, JSON.stringify(jobs));
  } finally {
    await world.sql(`CANCEL JOB ${foreignId}`).catch(() => undefined);
  }

  // A second teardown needs only CockroachDB and the state file: the tables and target come from the state.
  const crdbOnly = { MOLT_FAILBACK_CRDB_CONN: env.MOLT_FAILBACK_CRDB_CONN as string, MOLT_FAILBACK_STATE: env.MOLT_FAILBACK_STATE as string };
  const again = await runCli(['teardown', '--purge-staging', '--yes', '--json'], { env: crdbOnly, timeoutMs: 120_000, cwd: dir });
  assert.equal(again.code, 0, describeRun(again));
  const twice = parseJson<{ changefeed: { outcome: string }; engine: { outcome: string }; staging: { outcome: string } }>(again);
  assert.equal(twice.changefeed.outcome, 'gone');
  assert.equal(twice.engine.outcome, 'gone');
  assert.equal(twice.staging.outcome, 'gone');

  // The torn-down state describes a finished failback: run and step refuse it instead of starting over.
  const stateBefore = readFileSync(env.MOLT_FAILBACK_STATE as string, 'utf8');
  const jobsBefore = (await world.sql('SELECT job_id FROM [SHOW CHANGEFEED JOBS]')).length;
  for (const args of [['run', '--yes', '--json'], ['step', 'start-replicator', '--yes']]) {
    const refused = await runCli(args, { env, timeoutMs: 120_000, cwd: dir });
    assert.equal(refused.code, 6, describeRun(refused));
    assert.match(refused.stderr, /records a teardown at .*--state <new path>/s);
  }
  assert.equal(readFileSync(env.MOLT_FAILBACK_STATE as string, 'utf8'), stateBefore, 'the state is untouched');
  assert.equal((await world.sql('SELECT job_id FROM [SHOW CHANGEFEED JOBS]')).length, jobsBefore, 'no new changefeed');
});
