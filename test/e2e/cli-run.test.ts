/**
 * The CLI contract of `run` and `step` without a terminal (stdin at EOF, as in CI): missing values exit
 * 3 with the full list and never hang, bad flags exit 2, confirmations are refused rather than assumed,
 * --dry-run prints redacted actions and writes nothing, --json output parses, and Ctrl-C (SIGINT) mid-
 * step exits 130 and the next run resumes. Spawns the built CLI (`npm run build` first).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STEP_IDS } from '../../src/steps/config.js';
import { describeRun, parseJson, runCli } from '../helpers/cli.js';

const SECRET = 'Pa55:w0rd@secret';
const ENC = encodeURIComponent(SECRET);

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mf-cli-run-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function noSecret(text: string) {
  assert.ok(!text.includes(SECRET) && !text.includes(ENC), `a secret leaked:\n${text}`);
}

const stateIn = (name: string) => join(dir, name, 'state.json');

/** Complete settings through the environment, as a CI job would give them. */
function fullEnv(name: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    MOLT_FAILBACK_CRDB_CONN: `postgres://root:${ENC}@127.0.0.1:1/defaultdb`,
    MOLT_FAILBACK_TARGET_CONN: `postgres://migrator:${ENC}@127.0.0.1:5432/app`,
    MOLT_FAILBACK_TABLES: 'employees,payments',
    MOLT_FAILBACK_STATE: stateIn(name),
    ...extra,
  };
}

test('run without a terminal and with values missing exits 3, listing every missing value, without hanging', async () => {
  const r = await runCli(['run', '--state', stateIn('missing')], { timeoutMs: 90_000 });
  assert.equal(r.timedOut, false, describeRun(r));
  assert.equal(r.code, 3, describeRun(r));
  for (const [key, flag, env] of [
    ['crdb.conn', '--crdb-conn', 'MOLT_FAILBACK_CRDB_CONN'],
    ['tables', '--tables', 'MOLT_FAILBACK_TABLES'],
    ['target.conn', '--target-conn', 'MOLT_FAILBACK_TARGET_CONN'],
  ]) {
    assert.match(r.stderr, new RegExp(`${key.replace('.', '\\.')}: .*${flag}, env ${env}, "${key.replace('.', '\\.')}" in the config file`), describeRun(r));
  }
  assert.match(r.stderr, /3 required values are missing/);
  assert.equal(existsSync(stateIn('missing')), false, 'nothing was written');
});

test('with piped stdin at EOF and --json, the missing list is JSON and the exit code is 3', async () => {
  const r = await runCli(['run', '--json', '--tables', 't1'], { input: '', timeoutMs: 90_000, cwd: dir });
  assert.equal(r.code, 3, describeRun(r));
  const out = parseJson<{ error: { code: string; exitCode: number; data: { missing: Array<{ key: string; flag: string; env: string }> } } }>(r);
  assert.equal(out.error.code, 'MISSING_INPUT');
  assert.equal(out.error.exitCode, 3);
  assert.deepEqual(
    out.error.data.missing.map((m) => m.key),
    ['crdb.conn', 'target.conn'],
  );
});

test('bad flags and bad values exit 2', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['run', '--no-such-flag'], /Nonexistent flag: --no-such-flag/],
    [['run', '--from', 'nope'], /Expected --from=nope to be one of/],
    [['run', '--only', 'preflight,nope', '--dry-run'], /UNKNOWN_STEP.*"nope" is not a step/],
    [['run', '--from', 'create-changefeed', '--to', 'preflight'], /BAD_SELECTION/],
    [['step', 'not-a-step'], /Expected not-a-step to be one of/],
    [['step'], /STEP_REQUIRED/],
    [['status', '--interval', 'soon'], /BAD_INTERVAL/],
    [['teardown', '--grace', 'forever'], /BAD_GRACE/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args, { env: fullEnv('bad-flags'), timeoutMs: 90_000 });
    assert.equal(r.code, 2, `${args.join(' ')}: ${describeRun(r)}`);
    assert.match(r.stderr, message, `${args.join(' ')}: ${describeRun(r)}`);
  }
});

test('an invalid configuration exits 2 with every problem, never echoing a secret', async () => {
  const r = await runCli(['run', '--dry-run', '--staging-schema', 'nodot', '--drain-timeout', 'forever', '--bind-addr', 'nonsense', '--metrics-addr', 'alsobad', '--webhook-host', 'bad host/x', '--cursor', '123.45'], {
    env: { ...fullEnv('invalid'), MOLT_FAILBACK_TARGET_CONN: `mysql//migrator:${SECRET}@host/db`, MOLT_FAILBACK_TUNE_RANGEFEEDS: 'perhaps' },
    timeoutMs: 90_000,
  });
  assert.equal(r.code, 2, describeRun(r));
  noSecret(r.stdout + r.stderr);
  for (const re of [
    /target\.conn/,
    /MOLT_FAILBACK_TUNE_RANGEFEEDS must be true or false/,
    /staging\.schema: must be db\.schema.*--staging-schema/,
    /forward\.timeout: must be a duration .*--drain-timeout/,
    /replicator\.bindAddr: must be host:port or :port.*--bind-addr/,
    /replicator\.metricsAddr: must be host:port or :port.*--metrics-addr/,
    /replicator\.host: must be a host name or an IP address.*--webhook-host/,
    /changefeed\.cursor: .*logical part "45" must be 10 digits.*--cursor/,
  ]) {
    assert.match(r.stderr, re);
  }
});

test('run with every value but no terminal and no --yes refuses to proceed (exit 3) before touching anything', async () => {
  const r = await runCli(['run'], { env: fullEnv('no-yes'), timeoutMs: 90_000 });
  assert.equal(r.code, 3, describeRun(r));
  assert.match(r.stderr, /needs a confirmation .* no terminal/);
  assert.match(r.stderr, /--yes/);
  assert.match(r.stdout, /Plan \(10 steps/);
  noSecret(r.stdout + r.stderr);
  assert.equal(existsSync(stateIn('no-yes')), false);
});

test('a database that cannot be reached exits 4 from every step that needs it, saying which one', async () => {
  for (const args of [
    ['run', '--yes', '--only', 'preflight'],
    ['step', 'enable-rangefeeds', '--yes'],
    ['step', 'fetch-cursor', '--yes'],
  ]) {
    const r = await runCli(args, { env: fullEnv(`unreachable-${args[1]}`), timeoutMs: 120_000 });
    assert.equal(r.code, 4, `${args.join(' ')}: ${describeRun(r)}`);
    assert.match(r.stderr + r.stdout, /CockroachDB.*(not reachable|ECONNREFUSED)/, args.join(' '));
    noSecret(r.stdout + r.stderr);
  }
});

test('run --dry-run prints every selected step\'s actions, redacted, and writes nothing', async () => {
  const r = await runCli(['run', '--dry-run', '--forward-metrics-url', 'http://127.0.0.1:9/_/varz'], { env: fullEnv('dry'), timeoutMs: 120_000 });
  assert.equal(r.code, 0, describeRun(r));
  noSecret(r.stdout + r.stderr);
  assert.match(r.stdout, /^Dry run: nothing was changed/m);
  STEP_IDS.forEach((id, i) => assert.match(r.stdout, new RegExp(`^${i + 1}\\. ${id}: `, 'm'), `step ${id} listed`));
  assert.match(r.stdout, /SQL .*kv\.rangefeed\.enabled/);
  assert.match(r.stdout, /CREATE CHANGEFEED FOR TABLE/);
  assert.match(r.stdout, /HTTP .*http:\/\/127\.0\.0\.1:9\/_\/varz/);
  assert.match(r.stdout, /PROCESS/);
  assert.ok(!existsSync(join(dir, 'dry')), 'no state folder, no lock');
});

test('run --dry-run --json is one JSON document; --only selects', async () => {
  const r = await runCli(['run', '--dry-run', '--json', '--only', 'enable-rangefeeds', '--only', 'fetch-cursor'], { env: fullEnv('dry-json'), timeoutMs: 120_000 });
  assert.equal(r.code, 0, describeRun(r));
  const out = parseJson<{ dryRun: boolean; steps: Array<{ id: string; actions: Array<{ kind: string; text: string }> }> }>(r);
  assert.equal(out.dryRun, true);
  assert.deepEqual(
    out.steps.map((s) => s.id),
    ['enable-rangefeeds', 'fetch-cursor'],
  );
  assert.ok(out.steps[0]?.actions.some((a) => a.kind === 'sql'));
  noSecret(r.stdout + r.stderr);
});

test('step --list lists every step in order, also as JSON, with no configuration at all', async () => {
  const human = await runCli(['step', '--list'], { timeoutMs: 90_000, cwd: dir });
  assert.equal(human.code, 0, describeRun(human));
  const positions = STEP_IDS.map((id) => human.stdout.indexOf(` ${id} `));
  assert.ok(positions.every((p) => p >= 0), human.stdout);
  assert.deepEqual([...positions].sort((a, b) => a - b), positions, 'runbook order');
  const json = await runCli(['step', '--list', '--json'], { timeoutMs: 90_000, cwd: dir });
  const out = parseJson<{ steps: Array<{ id: string; title: string; description: string }> }>(json);
  assert.deepEqual(
    out.steps.map((s) => s.id),
    [...STEP_IDS],
  );
  assert.ok(out.steps.every((s) => s.title.length > 0 && s.description.length > 20));
});

test('step <name> without a terminal runs one step; a step confirmation without --yes exits 3', async () => {
  const r = await runCli(['step', 'drain-forward'], { env: fullEnv('step-confirm'), timeoutMs: 120_000 });
  assert.equal(r.code, 3, describeRun(r));
  assert.match(r.stderr, /CONFIRMATION_NEEDED/);
  const ok = await runCli(['step', 'drain-forward', '--json', '--yes', '--confirm-drained'], { env: fullEnv('step-confirm'), timeoutMs: 120_000 });
  assert.equal(ok.code, 0, describeRun(ok));
  const out = parseJson<{ ok: boolean; results: Array<{ id: string; outcome: string }> }>(ok);
  assert.equal(out.ok, true);
  assert.deepEqual(out.results.map((x) => [x.id, x.outcome]), [['drain-forward', 'verified']]);
  const state = JSON.parse(readFileSync(stateIn('step-confirm'), 'utf8')) as { steps: Record<string, { status: string }> };
  assert.equal(state.steps['drain-forward']?.status, 'verified');
});

/** A forward replicator's metrics endpoint whose apply counter moves while `busy` is true. */
function forwardMetrics(): { server: Server; url: () => string; setBusy(b: boolean): void } {
  let rows = 0;
  let busy = true;
  const server = createServer((_req, res) => {
    if (busy) rows += 7;
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(`# TYPE apply_upserts_total counter\napply_upserts_total{schema="app.public",table="employees"} ${rows}\n`);
  });
  server.listen(0, '127.0.0.1');
  return { server, url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/_/varz`, setBusy: (b) => (busy = b) };
}

test('Ctrl-C mid-step exits 130 with "run again", leaves the step applying, and the next run resumes it', async () => {
  const fwd = forwardMetrics();
  await new Promise((r) => fwd.server.once('listening', r));
  try {
    const env = fullEnv('interrupt', { MOLT_FAILBACK_FORWARD_METRICS_URL: fwd.url(), MOLT_FAILBACK_DRAIN_POLL_INTERVAL: '200ms', MOLT_FAILBACK_DRAIN_QUIET_PERIOD: '1s' });
    let sent = false;
    const r = await runCli(['run', '--yes', '--only', 'drain-forward'], {
      env,
      timeoutMs: 120_000,
      onSpawn: (child) => {
        child.stdout?.on('data', (d: Buffer) => {
          if (!sent && /\.\.\. /.test(d.toString())) {
            sent = true;
            setTimeout(() => child.kill('SIGINT'), 300);
          }
        });
      },
    });
    assert.equal(r.code, 130, describeRun(r));
    assert.match(r.stderr, /SIGINT received/);
    assert.match(r.stderr, /run the same command again/i);
    const saved = JSON.parse(readFileSync(stateIn('interrupt'), 'utf8')) as { steps: Record<string, { status: string }> };
    assert.equal(saved.steps['drain-forward']?.status, 'applying');
    assert.deepEqual(readdirSync(join(dir, 'interrupt')), ['state.json'], 'lock released, no temp files');
    fwd.setBusy(false);
    const again = await runCli(['run', '--yes', '--json', '--only', 'drain-forward'], { env, timeoutMs: 120_000 });
    assert.equal(again.code, 0, describeRun(again));
    const out = parseJson<{ results: Array<{ id: string; outcome: string }> }>(again);
    assert.deepEqual(out.results.map((x) => x.outcome), ['verified']);
  } finally {
    fwd.server.close();
  }
});
