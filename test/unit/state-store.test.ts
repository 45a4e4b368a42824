/**
 * The file state store on a real filesystem: atomic writes (no temp file left behind), mode 0600,
 * an exclusive lock with stale-lock takeover, refusal of unknown versions and invalid content.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../../src/lib/errors.js';
import { emptyState } from '../../src/steps/state/schema.js';
import { FileStateStore, MemoryStateStore } from '../../src/steps/state/store.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mf-state-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const fresh = (name: string) => new FileStateStore(join(dir, name, 'state.json'));

function expectAppError(fn: () => unknown, code: string, exitCode: number) {
  assert.throws(fn, (err: Error & { code?: string; exitCode?: number }) => {
    assert.equal(err.code, code, err.message);
    assert.equal(err.exitCode, exitCode);
    return true;
  });
}

test('a missing state file reads as undefined', () => {
  assert.equal(fresh('none').read(), undefined);
});

test('write then read round-trips, with mode 0600 and no temp file left behind', () => {
  const store = fresh('roundtrip');
  const state = emptyState();
  state.steps.preflight = { status: 'verified', attempts: 1, outputs: { version: 'CockroachDB v24.1' } };
  for (let i = 0; i < 5; i++) {
    state.steps.preflight.attempts = i + 1;
    store.write(state);
  }
  assert.deepEqual(store.read(), state);
  assert.equal(statSync(store.location).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(join(dir, 'roundtrip')), ['state.json']);
});

test('an invalid state is refused on write and leaves the previous file intact', () => {
  const store = fresh('invalid-write');
  const good = emptyState();
  store.write(good);
  const before = readFileSync(store.location, 'utf8');
  const bad = { ...good, steps: { preflight: { status: 'sideways', attempts: -1, outputs: {} } } };
  expectAppError(() => store.write(bad as never), 'STATE_INVALID', ExitCode.STATE);
  assert.equal(readFileSync(store.location, 'utf8'), before);
  assert.deepEqual(readdirSync(join(dir, 'invalid-write')), ['state.json']);
});

test('an unknown version is refused with exit 6, naming both versions', () => {
  const store = fresh('version');
  store.write(emptyState());
  writeFileSync(store.location, JSON.stringify({ ...emptyState(), version: 2 }));
  assert.throws(
    () => store.read(),
    (err: Error & { code?: string; exitCode?: number }) => {
      assert.equal(err.code, 'STATE_VERSION');
      assert.equal(err.exitCode, ExitCode.STATE);
      assert.match(err.message, /version 2.*reads version 1/);
      return true;
    },
  );
});

test('unreadable JSON and a wrong shape are refused with exit 6', () => {
  const store = fresh('garbage');
  store.write(emptyState());
  writeFileSync(store.location, '{ not json');
  expectAppError(() => store.read(), 'STATE_INVALID', ExitCode.STATE);
  writeFileSync(store.location, JSON.stringify({ version: 1, steps: 'nope' }));
  expectAppError(() => store.read(), 'STATE_INVALID', ExitCode.STATE);
});

test('the lock is exclusive while held and free again once released', () => {
  const a = fresh('lock');
  const b = new FileStateStore(a.location);
  const release = a.lock();
  assert.equal(statSync(`${a.location}.lock`).mode & 0o777, 0o600);
  expectAppError(() => b.lock(), 'LOCK_HELD', ExitCode.STATE);
  release();
  release(); // releasing twice is harmless
  const again = b.lock();
  again();
});

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

test('a lock left by a dead process on this host is taken over', () => {
  const store = fresh('stale');
  store.write(emptyState());
  writeFileSync(`${store.location}.lock`, JSON.stringify({ pid: deadPid(), host: hostname(), startedAt: '2020-01-01T00:00:00Z' }));
  const release = store.lock();
  const holder = JSON.parse(readFileSync(`${store.location}.lock`, 'utf8')) as { pid: number };
  assert.equal(holder.pid, process.pid);
  release();
});

test('an empty lock file: held while fresh (a run may be writing it), taken over once old (a run died creating it)', () => {
  const store = fresh('empty-lock');
  store.write(emptyState());
  const lockFile = `${store.location}.lock`;
  writeFileSync(lockFile, '');
  expectAppError(() => store.lock(), 'LOCK_HELD', ExitCode.STATE);
  const old = new Date(Date.now() - 60_000);
  utimesSync(lockFile, old, old);
  const release = store.lock();
  assert.equal((JSON.parse(readFileSync(lockFile, 'utf8')) as { pid: number }).pid, process.pid);
  release();
});

test('a lock held by a live process, or by another host, is not taken over', () => {
  const store = fresh('live');
  store.write(emptyState());
  writeFileSync(`${store.location}.lock`, JSON.stringify({ pid: process.ppid, host: hostname(), startedAt: 'x' }));
  expectAppError(() => store.lock(), 'LOCK_HELD', ExitCode.STATE);
  writeFileSync(`${store.location}.lock`, JSON.stringify({ pid: deadPid(), host: `not-${hostname()}`, startedAt: 'x' }));
  assert.throws(() => store.lock(), /Another molt-failback run holds .* on not-/);
});

test('the memory store validates and locks like the file store', () => {
  const m = new MemoryStateStore();
  assert.equal(m.read(), undefined);
  m.write(emptyState());
  assert.equal(m.read()?.version, 1);
  const release = m.lock();
  expectAppError(() => m.lock(), 'LOCK_HELD', ExitCode.STATE);
  release();
  expectAppError(() => m.write({ version: 3 } as never), 'STATE_VERSION', ExitCode.STATE);
});
