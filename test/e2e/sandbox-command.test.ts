/**
 * `molt-failback sandbox` as a newcomer runs it, through the built CLI without a terminal: the default
 * run ends with a matching verdict and exit 0; `--json` prints a parseable result (here with a MariaDB
 * target, whose sandbox database is dropped again); `--keep` leaves everything reachable until SIGTERM;
 * Ctrl-C in the middle stops it with exit 130. After every run nothing is left behind: no engine or
 * simulated forward replicator process, no listening port, no temporary folder (each run gets its own
 * TMPDIR to check that), no sandbox database on MariaDB.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { describeRun, parseJson, runCli, type CliResult } from '../helpers/cli.js';
import { MARIADB_ADMIN_URL, PG_ADMIN_URL } from '../helpers/databases.js';
import { processTable } from '../helpers/failback-bed.js';

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'mf-sandbox-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

/** A TMPDIR of its own for one sandbox run, so leftovers are visible. */
function freshTmp(name: string): string {
  return mkdtempSync(join(root, `${name}-`));
}

const QUICK = ['--transactions', '100', '--rate', '50', '--employees', '40'];

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

// The shared servers the tests use are not the sandbox's to close.
const SHARED_PORTS = new Set([Number(new URL(MARIADB_ADMIN_URL).port || 3306), Number(new URL(PG_ADMIN_URL).port || 5432)]);

/** Ports of every 127.0.0.1 URL the run printed (embedded databases, emulator, engine metrics and webhook). */
function printedPorts(r: CliResult): number[] {
  const ports = [...`${r.stdout}\n${r.stderr}`.matchAll(/127\.0\.0\.1:(\d{2,5})/g)].map((m) => Number(m[1]));
  return [...new Set(ports)].filter((p) => !SHARED_PORTS.has(p));
}

/** Pids the run printed for its engine and its simulated forward replicator. */
function printedPids(r: CliResult): number[] {
  const text = `${r.stdout}\n${r.stderr}`;
  return [...text.matchAll(/(?:forward replicator: pid|The engine is running \(pid) (\d+)/g)].map((m) => Number(m[1]));
}

async function assertNothingLeft(r: CliResult, tmp: string): Promise<void> {
  assert.deepEqual(readdirSync(tmp), [], `the temporary folder is empty:\n${describeRun(r)}`);
  const procs = processTable();
  for (const pid of printedPids(r)) assert.ok(!procs.has(pid), `process ${pid} is gone: ${procs.get(pid)?.join(' ')}`);
  for (const [pid, argv] of procs) assert.ok(!argv.some((a) => a.includes(tmp)), `no process uses ${tmp}: ${pid} ${argv.join(' ')}`);
  const ports = printedPorts(r);
  assert.ok(ports.length > 0, 'the run printed its addresses');
  for (const port of ports) assert.equal(await portOpen(port), false, `port ${port} is closed`);
}

test('the default run: every step, the workload, a matching verdict, exit 0, and nothing left behind', async () => {
  const tmp = freshTmp('default');
  const r = await runCli(['sandbox', '--seed', '11', ...QUICK], { env: { TMPDIR: tmp }, timeoutMs: 240_000 });
  assert.equal(r.code, 0, describeRun(r));
  assert.match(r.stdout, /SIMULATED: the CockroachDB emulator/);
  assert.match(r.stdout, /SIMULATED forward replicator: pid \d+/);
  for (let i = 1; i <= 10; i++) assert.match(r.stdout, new RegExp(`\\[${i}/10\\] `));
  assert.match(r.stdout, /workload 100\/100 transactions \| applied \d+ rows \| lag [\d.]+s/);
  assert.match(r.stdout, /employees +\d+ \/ \d+ +equal/);
  assert.match(r.stdout, /VERDICT: MATCH/);
  assert.match(r.stdout, /Cleaned up/);
  await assertNothingLeft(r, tmp);
});

interface SandboxJson {
  verdict: string;
  seed: number;
  target: { kind: string };
  simulated: string[];
  tables: Array<{ table: string; verdict: string; crdbRows: number; targetRows: number }>;
  workload: { transactions: number; inserts: number; updates: number; deletes: number };
  replication: { rowsApplied: number; caughtUpTo: string };
  wizard: { steps: Array<{ id: string; outcome: string }> };
  timings: { totalMs: number; cleanupMs: number };
  cleanup: { ok: boolean };
  kept?: { crdb: string; target: string; staging: string; metricsUrl: string; stateFile: string; commands: string[] };
}

test('--json with a MariaDB target: the result parses, the sandbox database is dropped', async () => {
  const tmp = freshTmp('json');
  const r = await runCli(['sandbox', '--json', '--seed', '12', '--target', 'mariadb', '--mariadb-url', MARIADB_ADMIN_URL, ...QUICK], { env: { TMPDIR: tmp }, timeoutMs: 240_000 });
  assert.equal(r.code, 0, describeRun(r));
  const out = parseJson<SandboxJson>(r);
  assert.equal(out.verdict, 'match');
  assert.equal(out.seed, 12);
  assert.equal(out.target.kind, 'mariadb');
  assert.equal(out.simulated.length, 2);
  assert.deepEqual(out.tables.map((t) => t.table), ['employees', 'payments', 'orders']);
  for (const t of out.tables) assert.ok(t.verdict === 'equal' && t.crdbRows === t.targetRows && t.crdbRows > 0, JSON.stringify(t));
  assert.equal(out.workload.transactions, 100);
  assert.ok(out.replication.rowsApplied > 0);
  assert.match(out.replication.caughtUpTo, /^\d+\.\d{10}$/);
  assert.equal(out.wizard.steps.length, 10);
  for (const s of out.wizard.steps) assert.ok(s.outcome === 'verified' || s.outcome === 'adopted', `${s.id}: ${s.outcome}`);
  assert.ok(out.timings.totalMs > 0 && out.cleanup.ok);
  const name = /database (molt_sandbox_\w+)/.exec(r.stderr)?.[1];
  assert.ok(name, 'the run named its MariaDB database');
  const c = await mysql.createConnection(MARIADB_ADMIN_URL);
  try {
    const [rows] = await c.query('SHOW DATABASES LIKE ?', [name]);
    assert.deepEqual(rows, [], `${name} was dropped`);
  } finally {
    await c.end();
  }
  await assertNothingLeft(r, tmp);
});

test('--keep: everything stays reachable with the printed connection strings until SIGTERM, then it is all cleaned up', async () => {
  const tmp = freshTmp('keep');
  let kept: SandboxJson['kept'];
  let probe: Promise<void> | undefined;
  const r = await runCli(['sandbox', '--json', '--keep', '--seed', '13', ...QUICK], {
    env: { TMPDIR: tmp },
    timeoutMs: 240_000,
    onSpawn: (child) => {
      let buf = '';
      child.stdout?.on('data', (d: Buffer) => {
        buf += d.toString();
        if (probe || !buf.trimEnd().endsWith('}')) return;
        try {
          kept = (JSON.parse(buf) as SandboxJson).kept;
        } catch {
          return; // not the whole document yet
        }
        probe = (async () => {
          try {
            const crdb = new pg.Client({ connectionString: kept?.crdb });
            await crdb.connect();
            const jobs = await crdb.query('SELECT job_id, status FROM [SHOW CHANGEFEED JOBS]');
            await crdb.end();
            assert.equal(jobs.rows[0]?.status, 'running');
            const target = new pg.Client({ connectionString: kept?.target });
            await target.connect();
            const n = await target.query('SELECT count(*)::int AS n FROM orders');
            await target.end();
            assert.ok((n.rows[0] as { n: number }).n > 0);
            const varz = await (await fetch(kept?.metricsUrl as string)).text();
            assert.match(varz, /^apply_upserts_total\{/m);
            const status = await runCli(['status', '--json', '--state', kept?.stateFile as string], { timeoutMs: 60_000 });
            assert.equal(status.code, 0, describeRun(status));
          } finally {
            child.kill('SIGTERM');
          }
        })();
      });
    },
  });
  await probe;
  assert.ok(kept, `the kept environment was printed:\n${describeRun(r)}`);
  assert.equal(r.code, 0, describeRun(r));
  assert.match(kept.commands.join('\n'), /molt-failback status --state .*state\.json/);
  assert.match(kept.commands.join('\n'), /curl -s http:\/\/127\.0\.0\.1:\d+\/_\/varz/);
  assert.match(r.stderr, /SIGTERM received: stopping and cleaning up/);
  assert.match(r.stderr, /Cleaned up/);
  await assertNothingLeft(r, tmp);
});

/** Ctrl-C (`times` SIGINTs, 50 ms apart) once the workload writes: the engine and the changefeed run by then. */
function interruptMidWorkload(times: number): { onSpawn: (child: ChildProcess) => void; sent: () => boolean } {
  let sent = false;
  return {
    sent: () => sent,
    onSpawn: (child) => {
      let buf = '';
      child.stdout?.on('data', (d: Buffer) => {
        buf += d.toString();
        if (!sent && /workload \d+\/2000 transactions \| applied/.test(buf)) {
          sent = true;
          for (let i = 0; i < times; i++) setTimeout(() => child.kill('SIGINT'), 50 * i);
        }
      });
    },
  };
}

test('Ctrl-C in the middle of the run stops it with exit 130 and cleans up', async () => {
  const tmp = freshTmp('sigint');
  const interrupt = interruptMidWorkload(1);
  const r = await runCli(['sandbox', '--seed', '14', '--transactions', '2000', '--rate', '50'], { env: { TMPDIR: tmp }, timeoutMs: 240_000, onSpawn: interrupt.onSpawn });
  assert.ok(interrupt.sent(), describeRun(r));
  assert.equal(r.code, 130, describeRun(r));
  assert.match(r.stderr, /SIGINT received: stopping and cleaning up/);
  assert.match(r.stderr, /interrupted; everything it started has been stopped and removed/);
  await assertNothingLeft(r, tmp);
});

test('a second Ctrl-C exits at once and names what it left behind (the MariaDB database) with the statement to drop it', async () => {
  const tmp = freshTmp('sigint2');
  const interrupt = interruptMidWorkload(2);
  const r = await runCli(['sandbox', '--seed', '15', '--target', 'mariadb', '--mariadb-url', MARIADB_ADMIN_URL, '--transactions', '2000', '--rate', '50'], {
    env: { TMPDIR: tmp },
    timeoutMs: 240_000,
    onSpawn: interrupt.onSpawn,
  });
  assert.ok(interrupt.sent(), describeRun(r));
  assert.equal(r.code, 130, describeRun(r));
  assert.match(r.stderr, /Second SIGINT: killing the sandbox's processes and exiting now/);
  const left = /Left behind: database (molt_sandbox_\w+) on MariaDB .*DROP DATABASE `\1`;/.exec(r.stderr);
  assert.ok(left, `the database left behind is named with its DROP statement:\n${describeRun(r)}`);
  const admin = await mysql.createConnection(MARIADB_ADMIN_URL);
  try {
    const [rows] = await admin.query<mysql.RowDataPacket[]>('SELECT schema_name FROM information_schema.schemata WHERE schema_name = ?', [left[1]]);
    assert.equal(rows.length, 1, 'it really was left behind');
    await admin.query(`DROP DATABASE \`${left[1]}\``);
  } finally {
    await admin.end();
    rmSync(tmp, { recursive: true, force: true });
  }
});
