/**
 * drain-forward and stop-forward against a real child process that serves Prometheus counters which
 * rise and then settle (test/helpers/fake-forward-replicator.mjs), like a forward MOLT Replicator.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { silentLogger } from '../../../src/lib/log.js';
import { drainForward } from '../../../src/steps/drain-forward.js';
import { createServices } from '../../../src/steps/services-impl.js';
import type { FailbackConfig } from '../../../src/steps/config.js';
import { stopForward } from '../../../src/steps/stop-forward.js';
import { startForward, type ForwardProcess } from '../../helpers/forward-process.js';
import { assertRunOk, testConfig, TestBed } from '../../helpers/step-harness.js';
import type { UiMode } from '../../../src/steps/ui.js';

const procs: ForwardProcess[] = [];
const beds: TestBed[] = [];
const others: ChildProcess[] = [];
const servers: Server[] = [];
after(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  for (const o of others) if (o.exitCode === null && o.signalCode === null) o.kill('SIGKILL');
  await Promise.all(servers.map((srv) => new Promise((r) => srv.close(r))));
  await Promise.all(beds.map((b) => b.close()));
});

/** An unrelated live process (`sleep 300`): what a stale pid file's number may belong to after pid reuse. */
async function unrelated(): Promise<ChildProcess> {
  const child = spawn('sleep', ['300'], { stdio: 'ignore' });
  others.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });
  return child;
}

const running = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;

/** A real HTTP server answering /_/varz with Prometheus text that has no apply counters at all. */
async function metricsWithoutApplyCounters(): Promise<string> {
  const srv = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end('# TYPE node_load1 gauge\nnode_load1 0.42\n');
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}/_/varz`;
}

async function forward(options: Parameters<typeof startForward>[0] = {}): Promise<ForwardProcess> {
  const p = await startForward(options);
  procs.push(p);
  return p;
}

function bed(forwardCfg: Partial<FailbackConfig['forward']>, mode: UiMode = 'yes', answers: boolean[] = []): TestBed {
  const config = testConfig({ forward: { quietPeriod: '1s', pollInterval: '200ms', timeout: '20s', ...forwardCfg } });
  const b = new TestBed({ config, services: createServices(config, silentLogger()), mode, answers });
  beds.push(b);
  return b;
}

describe('drain-forward', () => {
  it('waits until the counters settle, shows rates, and is idempotent', async () => {
    const fwd = await forward({ activeMs: 1500 });
    const b = bed({ metricsUrl: fwd.metricsUrl });
    assert.equal((await drainForward.check(b.ctx(drainForward))).state, 'pending');
    const started = Date.now();
    await drainForward.apply(b.ctx(drainForward));
    assert.ok(Date.now() - started >= 1000, 'waited at least the quiet period');
    const progress = b.texts('progress');
    assert.ok(progress.some((t) => /migration_db\.public: [1-9]\d*\.\d rows\/s/.test(t)), `live rates shown: ${progress.join(' | ')}`);
    const first = b.outputs('drain-forward');
    assert.equal(first.method, 'metrics');
    assert.deepEqual(first.rows, { 'migration_db.public': 1000 + 10 + 15 * 50 * 2 + 75 });
    assert.equal((await drainForward.check(b.ctx(drainForward))).state, 'satisfied');
    // Twice equals once: same counters recorded, still satisfied.
    await drainForward.apply(b.ctx(drainForward));
    assert.deepEqual(b.outputs('drain-forward').rows, first.rows);
    assert.equal((await drainForward.check(b.ctx(drainForward))).state, 'satisfied');
    assert.equal((await drainForward.verify(b.ctx(drainForward))).ok, true);
  });

  it('notices rows applied after the recorded drain', async () => {
    const fwd = await forward({ activeMs: 0 });
    const b = bed({ metricsUrl: fwd.metricsUrl });
    b.setOutputs('drain-forward', { drainedAt: new Date().toISOString(), method: 'metrics', rows: { 'migration_db.public': 5 } });
    const c = await drainForward.check(b.ctx(drainForward));
    assert.equal(c.state, 'pending');
    assert.match(c.detail, /rows were applied since the drain/);
  });

  it('converges after a crash before the state write (Runner re-checks and re-proves)', async () => {
    const fwd = await forward({ activeMs: 0 });
    const b = bed({ metricsUrl: fwd.metricsUrl });
    await drainForward.apply(b.ctx(drainForward, { discardRecords: true }));
    assert.deepEqual(b.outputs('drain-forward'), {});
    const result = await b.run([drainForward]);
    assertRunOk(result);
    assert.equal(b.outputs('drain-forward').method, 'metrics');
  });

  it('times out with a clear error while rows keep flowing', async () => {
    const fwd = await forward({ activeMs: 600_000 });
    const b = bed({ metricsUrl: fwd.metricsUrl, timeout: '1500ms' });
    await assert.rejects(drainForward.apply(b.ctx(drainForward)), (err: Error & { code?: string; exitCode?: number }) => {
      assert.equal(err.code, 'DRAIN_TIMEOUT');
      assert.equal(err.exitCode, 5);
      assert.match(err.message, /did not drain within 1500ms: migration_db\.public: \d/);
      return true;
    });
  });

  it('stops waiting promptly when the run is aborted (Ctrl-C)', async () => {
    const fwd = await forward({ activeMs: 600_000 });
    const config = testConfig({ forward: { metricsUrl: fwd.metricsUrl, quietPeriod: '1s', pollInterval: '200ms', timeout: '60s' } });
    const controller = new AbortController();
    const b = new TestBed({ config, services: createServices(config, silentLogger()), signal: controller.signal });
    beds.push(b);
    setTimeout(() => controller.abort(), 500);
    const started = Date.now();
    await assert.rejects(drainForward.apply(b.ctx(drainForward)), (err: Error) => err.name === 'AbortError');
    assert.ok(Date.now() - started < 3000, 'no waiting for the timeout');
    const result = await b.run([drainForward]);
    assert.equal(result.results[0]?.outcome, 'not-run', 'an aborted run starts nothing');
  });

  it('fails clearly when the endpoint does not answer', async () => {
    const b = bed({ metricsUrl: 'http://127.0.0.1:9/_/varz' });
    await assert.rejects(drainForward.apply(b.ctx(drainForward)), /FORWARD_UNREACHABLE|stopped answering/);
  });

  it('an endpoint that answers without apply counters is not drained: it needs a confirmation like no endpoint', async () => {
    const url = await metricsWithoutApplyCounters();
    const yes = bed({ metricsUrl: url });
    await assert.rejects(drainForward.apply(yes.ctx(drainForward)), (err: Error & { code?: string; actions?: string[] }) => {
      assert.equal(err.code, 'CONSENT_REQUIRED');
      assert.match(err.message, /no apply counters/);
      assert.match(JSON.stringify(err), /--confirm-drained/);
      return true;
    });
    assert.ok(yes.texts('warn').some((t) => /exposes no apply_upserts_total \/ apply_deletes_total/.test(t) && /not be the forward replicator's endpoint/.test(t)));
    assert.deepEqual(yes.outputs('drain-forward'), {}, 'nothing recorded: not drained');
    assert.equal((await drainForward.check(yes.ctx(drainForward))).state, 'pending');
    const result = await yes.run([drainForward]);
    assert.equal(result.results[0]?.outcome, 'failed', '--yes alone does not pass');
    const noTty = bed({ metricsUrl: url }, 'non-interactive');
    await assert.rejects(drainForward.apply(noTty.ctx(drainForward)), (err: Error & { exitCode?: number }) => err.exitCode === 3);
    const declined = bed({ metricsUrl: url }, 'interactive', [false]);
    await assert.rejects(drainForward.apply(declined.ctx(drainForward)), /not confirmed drained/);
    const asked = bed({ metricsUrl: url }, 'interactive', [true]);
    await drainForward.apply(asked.ctx(drainForward));
    assert.equal(asked.outputs('drain-forward').method, 'confirmed', 'a confirmation, not a measurement');
    const flagged = bed({ metricsUrl: url, confirmDrained: true });
    await drainForward.apply(flagged.ctx(drainForward));
    assert.equal(flagged.outputs('drain-forward').method, 'confirmed');
  });

  it('without an endpoint: --yes needs --confirm-drained; the flag or an answer records a confirmed drain', async () => {
    const yes = bed({});
    await assert.rejects(drainForward.apply(yes.ctx(drainForward)), (err: Error & { code?: string }) => err.code === 'CONSENT_REQUIRED' && /--confirm-drained/.test(JSON.stringify(err)));
    const flagged = bed({ confirmDrained: true });
    await drainForward.apply(flagged.ctx(drainForward));
    assert.equal(flagged.outputs('drain-forward').method, 'confirmed');
    const asked = bed({}, 'interactive', [true]);
    await drainForward.apply(asked.ctx(drainForward));
    assert.equal(asked.outputs('drain-forward').method, 'confirmed');
    const declined = bed({}, 'interactive', [false]);
    await assert.rejects(drainForward.apply(declined.ctx(drainForward)), /not confirmed drained/);
    const noTty = bed({}, 'non-interactive');
    await assert.rejects(drainForward.apply(noTty.ctx(drainForward)), (err: Error & { exitCode?: number }) => err.exitCode === 3);
  });
});

describe('stop-forward', () => {
  it('sends SIGTERM, waits for the exit and the closed endpoint; twice equals once', async () => {
    const fwd = await forward({ activeMs: 0, termDelayMs: 700 });
    const b = bed({ metricsUrl: fwd.metricsUrl, pid: fwd.pid });
    assert.equal((await stopForward.check(b.ctx(stopForward))).state, 'pending');
    await stopForward.apply(b.ctx(stopForward));
    assert.equal(await fwd.exited, 0, 'exited with code 0 after SIGTERM');
    const out = b.outputs('stop-forward');
    assert.equal(out.method, 'signal');
    assert.equal(out.pid, fwd.pid);
    assert.ok(out.stoppedAt);
    assert.equal((await stopForward.check(b.ctx(stopForward))).state, 'satisfied');
    assert.equal((await stopForward.verify(b.ctx(stopForward))).ok, true);
    await stopForward.apply(b.ctx(stopForward));
    assert.equal((await stopForward.check(b.ctx(stopForward))).state, 'satisfied');
  });

  it('reads the pid file and converges after a crash before the state write', async () => {
    const fwd = await forward({ activeMs: 0 });
    const b0 = bed({});
    const pidFile = join(b0.stateDir, 'forward.pid');
    writeFileSync(pidFile, `${fwd.pid}\n`);
    const b = bed({ metricsUrl: fwd.metricsUrl, pidFile });
    await stopForward.apply(b.ctx(stopForward, { discardRecords: true }));
    await fwd.exited;
    const result = await b.run([stopForward]);
    assertRunOk(result);
    assert.equal(result.results[0]?.outcome, 'adopted', 'nothing left to do: the process is gone');
  });

  it('warns after the grace period and never SIGKILLs without an interactive yes', async () => {
    const stubborn = await forward({ activeMs: 0, ignoreTerm: true });
    const b = bed({ metricsUrl: stubborn.metricsUrl, pid: stubborn.pid, timeout: '2s' });
    await assert.rejects(stopForward.apply(b.ctx(stopForward)), (err: Error & { code?: string }) => err.code === 'FORWARD_STOP_TIMEOUT');
    assert.ok(b.texts('warn').some((t) => /still running .* after SIGTERM/.test(t)));
    assert.equal(stubborn.child.exitCode, null, 'still alive: not killed under --yes');
    const asked = bed({ metricsUrl: stubborn.metricsUrl, pid: stubborn.pid, timeout: '2s' }, 'interactive', [true]);
    await stopForward.apply(asked.ctx(stopForward));
    await stubborn.exited;
    assert.equal(stubborn.child.signalCode, 'SIGKILL');
  });

  it('blocks when the pid is gone but the metrics endpoint still answers', async () => {
    const fwd = await forward({ activeMs: 0 });
    const b = bed({ metricsUrl: fwd.metricsUrl, pid: 2 ** 22 + 12345 });
    const c = await stopForward.check(b.ctx(stopForward));
    assert.equal(c.state, 'blocked');
    assert.match(c.detail, /still answers/);
  });

  it('without a pid: asks the user (consent flag under --yes) and checks the endpoint closed', async () => {
    const fwd = await forward({ activeMs: 0 });
    const yes = bed({ metricsUrl: fwd.metricsUrl });
    assert.equal((await stopForward.check(yes.ctx(stopForward))).state, 'pending');
    await assert.rejects(stopForward.apply(yes.ctx(stopForward)), (err: Error & { code?: string }) => err.code === 'CONSENT_REQUIRED');
    fwd.child.kill('SIGTERM');
    await fwd.exited;
    const asked = bed({ metricsUrl: fwd.metricsUrl }, 'interactive', []);
    // The endpoint is already closed: nothing to confirm, recorded as already stopped.
    await stopForward.apply(asked.ctx(stopForward));
    assert.equal(asked.outputs('stop-forward').method, 'already-stopped');
    const blind = bed({ confirmStopped: true });
    await stopForward.apply(blind.ctx(stopForward));
    assert.equal(blind.outputs('stop-forward').method, 'confirmed');
  });
  it('identifies the fake replicator by its command line (argv[0] "replicator"), records its start time, and stops it', async () => {
    const fwd = await forward({ activeMs: 0 });
    const b = bed({ pid: fwd.pid });
    const c = await stopForward.check(b.ctx(stopForward));
    assert.equal(c.state, 'pending');
    assert.match(c.detail, /its executable is replicator/);
    await stopForward.apply(b.ctx(stopForward));
    assert.equal(await fwd.exited, 0);
    assert.equal(typeof b.outputs('stop-forward').startTicks, 'number', 'start time recorded with the pid');
    assert.ok(b.texts('info').some((t) => /Sending SIGTERM .*executable is replicator/.test(t)));
    assertRunOk(await b.run([stopForward]));
  });

  it('identifies an unnamed stand-in by the metrics port it listens on; without a metrics URL it is left alone', async () => {
    const fwd = await forward({ activeMs: 0, argv0: 'forward-standin' });
    const blind = bed({ pid: fwd.pid });
    const c0 = await stopForward.check(blind.ctx(stopForward));
    assert.equal(c0.state, 'blocked');
    assert.match(c0.detail, /forward-standin/);
    await assert.rejects(stopForward.apply(blind.ctx(stopForward)), (err: Error & { code?: string }) => err.code === 'FORWARD_NOT_IDENTIFIED');
    assert.equal(fwd.terms(), 0, 'not signalled');
    const b = bed({ pid: fwd.pid, metricsUrl: fwd.metricsUrl });
    const c = await stopForward.check(b.ctx(stopForward));
    assert.equal(c.state, 'pending');
    assert.match(c.detail, new RegExp(`listening on port ${fwd.port}`));
    await stopForward.apply(b.ctx(stopForward));
    assert.equal(await fwd.exited, 0);
  });

  it('never signals a live process it cannot identify (a reused pid): sleep 300 survives', async () => {
    const sleeper = await unrelated();
    const pid = sleeper.pid as number;
    const fwd = await forward({ activeMs: 0 });
    // The pid in config, and the same pid from a stale pid file next to a real forward replicator's metrics.
    const b0 = bed({});
    const pidFile = join(b0.stateDir, 'forward.pid');
    writeFileSync(pidFile, `${pid}\n`);
    for (const b of [bed({ pid }), bed({ pidFile, metricsUrl: fwd.metricsUrl })]) {
      const c = await stopForward.check(b.ctx(stopForward));
      assert.equal(c.state, 'blocked');
      assert.match(c.detail, /nothing shows it is the forward replicator/);
      assert.match(c.detail, /sleep 300/);
      await assert.rejects(stopForward.apply(b.ctx(stopForward)), (err: Error & { code?: string; actions?: string[] }) => {
        assert.equal(err.code, 'FORWARD_NOT_IDENTIFIED');
        assert.match(err.message, /Its command line: sleep 300/);
        assert.match(JSON.stringify(err), /kill -TERM/);
        return true;
      });
      const result = await b.run([stopForward]);
      assert.equal(result.results[0]?.outcome, 'failed');
      assert.equal(b.outputs('stop-forward').method, undefined, 'nothing recorded');
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(running(sleeper), 'sleep 300 is still alive');
    assert.ok(b0.services.processes.isAlive(pid));
    assert.ok(running(fwd.child) && fwd.terms() === 0, 'and the real one was not signalled through the stale pid either');
  });

  it('after a recorded stop, a re-run with the pid now in use elsewhere does not signal it', async () => {
    const fwd = await forward({ activeMs: 0 });
    const first = bed({ pid: fwd.pid, metricsUrl: fwd.metricsUrl });
    assertRunOk(await first.run([stopForward]));
    assert.equal(await fwd.exited, 0);
    const recorded = first.outputs('stop-forward');
    assert.ok(recorded.stoppedAt);
    // The pid "left in config" now names an unrelated process (what pid reuse does to a stale pid file).
    const sleeper = await unrelated();
    const b = bed({ pid: sleeper.pid as number, metricsUrl: fwd.metricsUrl });
    b.setOutputs('stop-forward', recorded);
    const c = await stopForward.check(b.ctx(stopForward));
    assert.equal(c.state, 'satisfied');
    assert.match(c.detail, /now belongs to another process \(sleep 300\)/);
    const result = await b.run([stopForward]);
    assertRunOk(result);
    assert.equal(result.results[0]?.outcome, 'adopted');
    await stopForward.apply(b.ctx(stopForward)); // even a direct apply leaves it alone
    assert.equal((await stopForward.verify(b.ctx(stopForward))).ok, true);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(running(sleeper), 'sleep 300 is still alive');
    // A forward replicator running again under a recorded stop is reported, not signalled.
    const again = await forward({ activeMs: 0 });
    const b2 = bed({ pid: again.pid, metricsUrl: again.metricsUrl });
    b2.setOutputs('stop-forward', recorded);
    const c2 = await stopForward.check(b2.ctx(stopForward));
    assert.equal(c2.state, 'blocked');
    assert.match(c2.detail, /not signalled again/);
    assert.equal((await b2.run([stopForward])).results[0]?.outcome, 'failed');
    await assert.rejects(stopForward.apply(b2.ctx(stopForward)), (err: Error & { code?: string }) => err.code === 'FORWARD_RESTARTED');
    assert.ok(running(again.child) && again.terms() === 0, 'not signalled');
  });

  it('resumed while the replicator is still shutting down: waits, does not send a second SIGTERM', async () => {
    const stubborn = await forward({ activeMs: 0, ignoreTerm: true });
    const b = bed({ pid: stubborn.pid, metricsUrl: stubborn.metricsUrl, timeout: '1s' });
    await assert.rejects(stopForward.apply(b.ctx(stopForward)), (err: Error & { code?: string }) => err.code === 'FORWARD_STOP_TIMEOUT');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(stubborn.terms(), 1);
    assert.equal((await stopForward.check(b.ctx(stopForward))).state, 'pending');
    await assert.rejects(stopForward.apply(b.ctx(stopForward)), (err: Error & { code?: string }) => err.code === 'FORWARD_STOP_TIMEOUT');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(stubborn.terms(), 1, 'no second SIGTERM');
    assert.ok(b.texts('info').some((t) => /already sent/.test(t)));
  });
});
