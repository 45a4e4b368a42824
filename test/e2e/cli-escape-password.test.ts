/**
 * `escape-password` as people and scripts use it: the encoded value alone on stdout (so `$(...)` works)
 * and the explanation on stderr, the `molt` alias that MOLT's documentation uses, no hang without a
 * terminal, a masked prompt in one, and a round trip: the encoded password inside a `postgres://` URL
 * logs in to a server that checks passwords (the CockroachDB emulator with --password) through `pg`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { BIN, ROOT, assertBuilt, cleanEnv, parseJson, runCli } from '../helpers/cli.js';
import { startCrdbWorld, type CrdbWorld } from '../helpers/crdb-bed.js';
import { PtySession } from '../helpers/pty.js';

// Every character class that breaks a hand-built URL: userinfo and path delimiters, percent, plus,
// space, a shell metacharacter and non-ASCII.
const NASTY = 'p@ss w0rd:/?#[]%&+$ü';

test('the encoded value alone on stdout, the explanation on stderr; MOLT documented example', async () => {
  const r = await runCli(['escape-password', '--password', 'a$52&']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'a%2452%26\n');
  assert.match(r.stderr, /encoded password/);
  const space = await runCli(['escape-password', '--password', 'p@ss w0rd!']);
  assert.equal(space.stdout, 'p%40ss%20w0rd%21\n', 'a space is %20, not "+"');
});

test('--json prints the encoded value as JSON; an empty password is refused', async () => {
  const r = await runCli(['escape-password', '--password', NASTY, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(decodeURIComponent(parseJson<{ encoded: string }>(r).encoded), NASTY);
  const empty = await runCli(['escape-password', '--password', '']);
  assert.equal(empty.code, 2);
  assert.equal(empty.stdout, '');
});

test('without --password and without a terminal it exits 3 at once instead of waiting', async () => {
  const r = await runCli(['escape-password'], { timeoutMs: 30_000 });
  assert.equal(r.timedOut, false);
  assert.equal(r.code, 3);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /--password/);
});

test('`molt escape-password` (the command MOLT documents) gives the same output; other molt commands are refused', () => {
  assertBuilt();
  const molt = (...args: string[]) =>
    spawnSync(process.execPath, [join(ROOT, 'bin', 'molt.js'), ...args], { env: cleanEnv(), encoding: 'utf8', timeout: 60_000 });
  const r = molt('escape-password', '--password', 'a$52&');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'a%2452%26\n');
  const help = molt('--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /molt escape-password --password/);
  const other = molt('fetch');
  assert.equal(other.status, 2);
  assert.match(other.stderr, /only "escape-password"/);
});

test('in a terminal it asks with a masked prompt: the password is never shown', async () => {
  const pty = new PtySession(['escape-password']);
  try {
    await pty.waitFor(/Password to encode/);
    pty.write(`${NASTY}\r`);
    assert.equal(await pty.exit(), 0, pty.text);
    assert.ok(pty.text.includes(encodeURIComponent(NASTY).replace(/'/g, '%27')), pty.text);
    assert.ok(!pty.text.includes(NASTY), `the password was echoed:\n${pty.text}`);
  } finally {
    pty.kill();
  }
});

test('as $(molt-failback escape-password) in a terminal: the prompt draws on stderr, the variable holds the encoding alone', async () => {
  const script = `X=$("${process.execPath}" "${BIN}" escape-password); printf '[%s]\\n' "$X"`;
  const pty = new PtySession([], { command: ['bash', '-c', script] });
  try {
    await pty.waitFor(/Password to encode/);
    pty.write(`${NASTY}\r`);
    assert.equal(await pty.exit(), 0, pty.text);
    assert.ok(pty.text.includes(`[${encodeURIComponent(NASTY)}]`), `captured more than the encoding:\n${pty.text}`);
    assert.ok(!pty.text.includes(NASTY), `the password was echoed:\n${pty.text}`);
  } finally {
    pty.kill();
  }
});

let world: CrdbWorld;
before(async () => {
  world = await startCrdbWorld('mf_escape', { password: NASTY });
});
after(async () => {
  await world?.close();
});

test('the encoded password inside a postgres:// URL logs in through pg; the raw one does not parse', async () => {
  const r = await runCli(['escape-password', '--password', NASTY]);
  assert.equal(r.code, 0, r.stderr);
  const port = new URL(world.emu.url).port;
  const url = (password: string) => `postgres://root:${password}@127.0.0.1:${port}/defaultdb?sslmode=disable`;

  const client = new pg.Client({ connectionString: url(r.stdout.trim()) });
  await client.connect();
  try {
    assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, 1);
  } finally {
    await client.end();
  }

  // The check can fail: a wrong password is refused by the same server.
  const wrong = new pg.Client({ connectionString: url('not-it') });
  await assert.rejects(wrong.connect(), /password/i);
  await wrong.end().catch(() => undefined);
});
