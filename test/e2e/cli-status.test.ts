/**
 * `status` and `teardown` without a terminal: status on a fresh and on a populated state (recorded
 * outputs, next actions, the live engine picture from a metrics endpoint scraped twice, and an
 * unreachable CockroachDB reported without failing), JSON output, and teardown's refusals and
 * idempotence on what it did not create.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STEP_IDS } from '../../src/steps/config.js';
import { emptyState, type FailbackState } from '../../src/steps/state/schema.js';
import { describeRun, parseJson, runCli } from '../helpers/cli.js';

let dir: string;
let metrics: Server;
let metricsUrl: string;
let scrapes = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mf-cli-status-'));
  // An engine metrics endpoint: 40 more rows applied per scrape, 5 webhook requests, applied 2 s ago.
  metrics = createServer((req, res) => {
    if (req.url === '/_/diag') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ pid: 1, fingerprint: 'someone-else' }));
      return;
    }
    scrapes += 1;
    const applied = Date.now() / 1000 - 2;
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(
      [
        `apply_upserts_total{schema="app.public",table="employees"} ${30 * scrapes}`,
        `apply_deletes_total{schema="app.public",table="employees"} ${10 * scrapes}`,
        'http_status_codes_total{code="200"} 5',
        'http_status_codes_total{code="400"} 1',
        `target_applied_timestamp_seconds{schema="app.public"} ${applied}`,
        '',
      ].join('\n'),
    );
  });
  await new Promise<void>((r) => metrics.listen(0, '127.0.0.1', r));
  metricsUrl = `http://127.0.0.1:${(metrics.address() as AddressInfo).port}/_/varz`;
});
after(() => {
  metrics.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A state in which the changefeed and the engine were recorded; the engine pid is a live process we own. */
function populatedState(enginePid: number): FailbackState {
  const s = emptyState();
  s.subject = { crdb: 'postgres://root:****@crdb:26257/defaultdb', target: 'postgres://migrator:****@pg:5432/app', tables: ['employees'] };
  const at = new Date().toISOString();
  s.steps.preflight = { status: 'verified', attempts: 1, finishedAt: at, detail: 'all checks passed', outputs: {} };
  s.steps['fetch-cursor'] = { status: 'verified', attempts: 1, outputs: { cursor: '1759246920563173000.0000000000', source: 'fetched', fetchedAt: at, gcTtlSeconds: 14400, gcFrom: 'database defaultdb' } };
  s.steps['start-replicator'] = {
    status: 'verified',
    attempts: 1,
    outputs: {
      pid: enginePid,
      pidFile: join(dir, 'replicator.pid'),
      logFile: join(dir, 'replicator.log'),
      tokenFile: join(dir, 'replicator.token'),
      metricsUrl,
      healthUrl: metricsUrl.replace('varz', 'healthz'),
      webhookUrl: 'https://localhost:30004',
      fingerprint: 'ours',
      startedAt: at,
      adopted: false,
    },
  };
  s.steps['create-changefeed'] = {
    status: 'failed',
    attempts: 2,
    error: { code: 'STEP_FAILED', message: 'connection refused', at },
    outputs: { jobId: '1101234051444375553', createdAt: at, sink: 'webhook-https://localhost:30004/app/public?ca_cert=****', cursor: '1759246920563173000.0000000000', tables: ['public.employees'], adopted: false },
  };
  return s;
}

function writeState(name: string, state: FailbackState): string {
  const p = join(dir, name, 'state.json');
  mkdirSync(join(dir, name), { recursive: true });
  writeFileSync(p, JSON.stringify(state));
  return p;
}

test('status on a fresh state says so, shows every step pending and what to do next (exit 0)', async () => {
  const state = join(dir, 'fresh', 'state.json');
  const r = await runCli(['status', '--state', state], { timeoutMs: 90_000, cwd: dir });
  assert.equal(r.code, 0, describeRun(r));
  assert.match(r.stdout, /No state at .*fresh\/state\.json/);
  for (const id of STEP_IDS) assert.match(r.stdout, new RegExp(`${id}\\s+not started`));
  assert.match(r.stdout, /Next:\n {2}- .*molt-failback run/);
  const j = await runCli(['status', '--json', '--state', state], { timeoutMs: 90_000, cwd: dir });
  const out = parseJson<{ exists: boolean; steps: Array<{ id: string; status: string }>; nextActions: string[] }>(j);
  assert.equal(out.exists, false);
  assert.equal(out.steps.length, STEP_IDS.length);
  assert.ok(out.steps.every((s) => s.status === 'pending'));
  assert.ok(out.nextActions.length > 0);
});

test('status on a populated state: outputs, errors, live engine rates, and an unreachable CockroachDB said plainly', async () => {
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    const state = writeState('populated', populatedState(sleeper.pid as number));
    const before = scrapes;
    const r = await runCli(['status', '--state', state, '--interval', '300ms', '--crdb-conn', 'postgres://root:hunter22@127.0.0.1:1/defaultdb'], { timeoutMs: 120_000, cwd: dir });
    assert.equal(r.code, 0, describeRun(r));
    assert.ok(!r.stdout.includes('hunter22') && !r.stderr.includes('hunter22'), 'no secret');
    assert.equal(scrapes - before, 2, 'two scrapes for the rate');
    assert.match(r.stdout, /preflight\s+verified/);
    assert.match(r.stdout, /create-changefeed\s+failed \(STEP_FAILED: connection refused\)/);
    assert.match(r.stdout, /cursor: 1759246920563173000\.0000000000/);
    assert.match(r.stdout, /jobId: 1101234051444375553/);
    assert.match(r.stdout, new RegExp(`metricsUrl: ${metricsUrl.replace(/[.?/]/g, '\\$&')}`));
    assert.match(r.stdout, /Changefeed 1101234051444375553: CockroachDB could not be queried/);
    assert.match(r.stdout, /rows applied: \d+ \(\d+(\.\d+)?\/s over 0\.\d+s\)/);
    assert.match(r.stdout, /lag: [1-9]\.\ds/);
    assert.match(r.stdout, /webhook requests: 6 \(5 OK, 1 errors\)/);
    assert.match(r.stdout, /Next:/);

    const j = await runCli(['status', '--json', '--state', state, '--interval', '200ms'], { timeoutMs: 120_000, cwd: dir });
    assert.equal(j.code, 0, describeRun(j));
    const out = parseJson<{ exists: boolean; live: { changefeed: { reachable: boolean; note: string }; engine: { reachable: boolean; rowsApplied: number; rowsPerSecond: number; webhookRequests: number } } }>(j);
    assert.equal(out.exists, true);
    assert.equal(out.live.changefeed.reachable, false);
    assert.match(out.live.changefeed.note, /not configured/);
    assert.equal(out.live.engine.reachable, true);
    assert.ok(out.live.engine.rowsPerSecond > 0);
    assert.equal(out.live.engine.webhookRequests, 6);
  } finally {
    sleeper.kill();
  }
});

test('status with a CockroachDB that accepts connections but never answers: gives up and says so (exit 0)', async () => {
  const silent = net.createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    const state = writeState('silent', populatedState(sleeper.pid as number));
    const port = (silent.address() as AddressInfo).port;
    const r = await runCli(['status', '--state', state, '--interval', '200ms', '--crdb-conn', `postgres://root:hunter22@127.0.0.1:${port}/defaultdb`], { timeoutMs: 90_000, cwd: dir });
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stdout, /Changefeed 1101234051444375553: CockroachDB could not be queried/);
    assert.ok(!r.stdout.includes('hunter22') && !r.stderr.includes('hunter22'), 'no secret');
    assert.match(r.stdout, /rows applied: \d+/, 'the engine part is still shown');
  } finally {
    sleeper.kill();
    silent.close();
  }
});

test('status refuses an unreadable state with exit 6', async () => {
  const p = join(dir, 'broken', 'state.json');
  mkdirSync(join(dir, 'broken'), { recursive: true });
  writeFileSync(p, '{"version": 9}');
  const r = await runCli(['status', '--state', p], { timeoutMs: 90_000, cwd: dir });
  assert.equal(r.code, 6, describeRun(r));
  assert.match(r.stderr, /STATE_VERSION/);
});

const conns = {
  MOLT_FAILBACK_CRDB_CONN: 'postgres://root@127.0.0.1:1/defaultdb',
  MOLT_FAILBACK_TARGET_CONN: 'postgres://postgres@127.0.0.1:5432/postgres',
  MOLT_FAILBACK_TABLES: 'employees',
};

test('teardown with --purge-staging and no terminal needs --yes (exit 3) and touches nothing', async () => {
  const state = writeState('td-confirm', populatedState(999_999));
  const before = readFileSync(state, 'utf8');
  const r = await runCli(['teardown', '--purge-staging', '--state', state], { env: conns, timeoutMs: 90_000, cwd: dir });
  assert.equal(r.code, 3, describeRun(r));
  assert.match(r.stderr, /--yes/);
  assert.equal(readFileSync(state, 'utf8'), before);
});

test('teardown with nothing recorded is harmless (exit 0, twice)', async () => {
  const state = join(dir, 'td-none', 'state.json');
  for (let i = 0; i < 2; i++) {
    const r = await runCli(['teardown', '--state', state], { env: conns, timeoutMs: 90_000, cwd: dir });
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stdout, /nothing recorded/);
  }
});

test('teardown refuses a live process that is not proven to be our engine, and records what it did', async () => {
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    const s = populatedState(sleeper.pid as number);
    delete s.steps['create-changefeed']; // no changefeed recorded: only the engine part is exercised
    const state = writeState('td-refuse', s);
    const r = await runCli(['teardown', '--json', '--state', state, '--grace', '1s'], { env: conns, timeoutMs: 120_000, cwd: dir });
    assert.equal(r.code, 1, describeRun(r));
    const out = parseJson<{ engine: { outcome: string; detail: string }; changefeed: { outcome: string }; staging: { outcome: string }; error: { code: string } }>(r);
    assert.equal(out.engine.outcome, 'refused');
    assert.match(out.engine.detail, new RegExp(`process ${sleeper.pid} is alive but the engine at .* reports pid 1`));
    assert.equal(out.changefeed.outcome, 'skipped');
    assert.equal(out.staging.outcome, 'skipped');
    assert.equal(out.error.code, 'NOT_OURS');
    assert.equal(sleeper.exitCode, null, 'the foreign process was not signalled');
    const saved = JSON.parse(readFileSync(state, 'utf8')) as FailbackState;
    assert.equal(saved.teardown?.engine.outcome, 'refused');
    // status shows what teardown did.
    const st = await runCli(['status', '--state', state, '--interval', '100ms'], { timeoutMs: 90_000, cwd: dir });
    assert.match(st.stdout, /Teardown \(.*\):\n {2}changefeed: skipped/);
  } finally {
    sleeper.kill();
  }
});
