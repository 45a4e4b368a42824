/**
 * observe.ts and services-impl.ts at their process and network boundaries: next actions from a state,
 * stopping an engine pid (never SIGKILL), detached spawning with pid and log files, HTTP errors and
 * pg connection errors that never carry a password.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { silentLogger } from '../../src/lib/log.js';
import { engineDiag, nextActions, scrapeEngine, stopEngine } from '../../src/steps/observe.js';
import { abortableSleep, NodeProcesses, PgSession, UndiciHttp } from '../../src/steps/services-impl.js';
import { emptyState, emptyStepRecord } from '../../src/steps/state/schema.js';
import { STEP_IDS } from '../../src/steps/config.js';

const dir = mkdtempSync(join(tmpdir(), 'molt-failback-observe-'));
const servers: Server[] = [];
after(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  rmSync(dir, { recursive: true, force: true });
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as { port: number }).port}`;
}

const services = { processes: new NodeProcesses(), sleep: abortableSleep, now: () => Date.now() };

describe('nextActions', () => {
  it('says where to resume, what failed, and how to end a running failback', () => {
    const s = emptyState();
    assert.match(nextActions(s)[0] as string, /Start the failback: molt-failback run/);
    s.steps.preflight = { ...emptyStepRecord(), status: 'verified' };
    assert.match(nextActions(s)[0] as string, /resumes at enable-rangefeeds/);
    s.steps['enable-rangefeeds'] = { ...emptyStepRecord(), status: 'applying' };
    assert.match(nextActions(s)[0] as string, /enable-rangefeeds was interrupted/);
    s.steps['enable-rangefeeds'] = { ...emptyStepRecord(), status: 'failed', error: { code: 'X', message: 'm', at: 'now' } };
    assert.deepEqual(nextActions(s), ['Fix what enable-rangefeeds reported (X), then run molt-failback run again: it resumes at enable-rangefeeds.', 'To retry only that step: molt-failback step enable-rangefeeds.']);
    for (const id of STEP_IDS) s.steps[id] = { ...emptyStepRecord(), status: 'verified' };
    assert.match(nextActions(s).join(' '), /Failback is running.*molt-failback teardown/);
  });
});

describe('process control', () => {
  it('spawns detached with pid and log files and the given environment; stopEngine sends SIGTERM and waits', async () => {
    const pidFile = join(dir, 'a.pid');
    const logFile = join(dir, 'a.log');
    // The wizard's own MOLT_FAILBACK_* settings (an admin connection, say) are not passed on.
    process.env.MOLT_FAILBACK_TARGET_ADMIN_CONN = 'postgres://admin:leaked@db/x';
    let pid: number;
    try {
      pid = await services.processes.spawnDetached(
        process.execPath,
        ['-e', "console.log('hello', process.env.SECRET_PASSING_TEST, process.env.MOLT_FAILBACK_TARGET_ADMIN_CONN ?? 'no-admin', process.env.PATH ? 'path' : 'no-path'); process.on('SIGTERM', () => setTimeout(() => process.exit(0), 200)); setInterval(() => {}, 1000)"],
        { logFile, pidFile, env: { SECRET_PASSING_TEST: 'via-env' } },
      );
    } finally {
      delete process.env.MOLT_FAILBACK_TARGET_ADMIN_CONN;
    }
    assert.equal(Number(readFileSync(pidFile, 'utf8')), pid);
    assert.ok(services.processes.isAlive(pid));
    for (let i = 0; i < 50 && !readFileSync(logFile, 'utf8').includes('hello'); i++) await abortableSleep(100);
    assert.match(readFileSync(logFile, 'utf8'), /hello via-env no-admin path/);
    const out = await stopEngine(services, pid, 10_000);
    assert.equal(out.outcome, 'stopped');
    assert.equal(services.processes.isAlive(pid), false);
    assert.equal((await stopEngine(services, pid, 1000)).outcome, 'gone');
    assert.equal(services.processes.signal(pid, 'SIGTERM'), false);
  });

  it('never escalates to SIGKILL on its own', async () => {
    // The child says when its SIGTERM handler is in place: a fixed sleep lost that race on a loaded machine.
    const child = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000); console.log('ready')"], { stdio: ['ignore', 'pipe', 'ignore'] });
    const exited = new Promise((r) => child.once('exit', r));
    await new Promise((r) => child.stdout.once('data', r));
    try {
      const out = await stopEngine(services, child.pid as number, 600);
      assert.equal(out.outcome, 'still-running');
      assert.equal(services.processes.isAlive(child.pid as number), true);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    assert.equal(services.processes.isAlive(child.pid as number), false, 'an exited child is not alive');
  });

  it('reports a command that cannot start', async () => {
    await assert.rejects(services.processes.spawnDetached(join(dir, 'no-such-binary'), [], { logFile: join(dir, 'b.log'), pidFile: join(dir, 'b.pid') }), /ENOENT/);
  });
});

describe('HTTP and SQL boundaries', () => {
  it('names connection refused and timeouts plainly', async () => {
    const http = new UndiciHttp();
    await assert.rejects(http.get('http://127.0.0.1:9/_/varz', { timeoutMs: 1000 }), (err: Error & { code?: string }) => err.code === 'ECONNREFUSED' && /connection refused/.test(err.message));
    const slow = await serve((_req, res) => setTimeout(() => res.end('late'), 2000));
    await assert.rejects(http.get(`${slow}/x`, { timeoutMs: 200 }), /no answer within 200ms/);
  });

  it('scrapes engine metrics and reads /_/diag defensively', async () => {
    const base = await serve((req, res) => {
      if (req.url === '/_/varz') res.end('http_status_codes_total{code="200"} 7\ntarget_applied_timestamp_seconds{schema="db.public"} 1759246923.5\n');
      else if (req.url === '/_/diag') res.end('not json');
      else res.writeHead(404).end();
    });
    const snap = await scrapeEngine(`${base}/_/varz`);
    assert.equal(snap.http200, 7);
    assert.equal(snap.applied['db.public'], 1759246923.5);
    assert.equal(await engineDiag(base), undefined);
    assert.equal(await engineDiag('http://127.0.0.1:9'), undefined);
  });

  it('turns an unreachable database into UNREACHABLE without the password', async () => {
    const s = new PgSession('postgres://user:hunter2-secret@127.0.0.1:9/db', 'CockroachDB', silentLogger(), 'crdb.conn (--crdb-conn)');
    await assert.rejects(s.query('SELECT 1'), (err: Error & { code?: string; actions?: string[] }) => {
      assert.equal(err.code, 'UNREACHABLE');
      assert.match(err.message, /CockroachDB at postgres:\/\/user:\*\*\*\*@127\.0\.0\.1:9\/db is not reachable/);
      assert.doesNotMatch(err.message + err.actions, /hunter2/);
      return true;
    });
    await s.close();
  });
});
