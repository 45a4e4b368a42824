// The standalone `molt-failback sandbox crdb` command, spawned from the built CLI (run `npm run build`
// first; `npm test` does): prints its connection string first, serves, and exits 0 on SIGTERM.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RUN = `${ROOT}bin/run.js`;
let db: TestDatabase;

before(async () => {
  assert.ok(existsSync(`${ROOT}dist/commands/sandbox/crdb.js`), 'the CLI is built (npm run build)');
  db = await createPgDatabase('crdb_emulator_cmd');
});
after(async () => {
  await db?.drop();
});

function start(args: string[]): { child: ChildProcess; firstLine: Promise<string>; exit: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, [RUN, 'sandbox', 'crdb', ...args], { cwd: ROOT, env: { ...process.env, MOLT_FAILBACK_CRDB_EMULATOR_PASSWORD: '' } });
  let out = '';
  let err = '';
  const firstLine = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.on('exit', () => reject(new Error(`exited before printing a line; stderr: ${err}`)));
  });
  firstLine.catch(() => undefined); // a test that expects an early exit never awaits it
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, firstLine, exit, stderr: () => err };
}

test('serves on the printed connection string and exits 0 on SIGTERM', async () => {
  const p = start(['--listen', '127.0.0.1:0', '--backend', db.url, '--fault', 'duplicate=0.1', '--fault', 'restart-every=5s', '--fault', 'delay=20ms', '--fault', 'reorder']);
  const url = await p.firstLine;
  assert.match(url, /^postgres:\/\/root@127\.0\.0\.1:\d+\/defaultdb\?sslmode=disable$/);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  assert.match((await c.query('SELECT version()')).rows[0].version as string, /^CockroachDB CCL v25\.4/);
  await c.query('SET CLUSTER SETTING kv.rangefeed.enabled = true');
  assert.deepEqual((await c.query('SHOW CLUSTER SETTING kv.rangefeed.enabled')).rows, [{ 'kv.rangefeed.enabled': true }]);
  await c.end();
  p.child.kill('SIGTERM');
  assert.equal(await p.exit, 0);
  assert.match(p.stderr(), /crdb emulator: stopped/);
});

test('--json prints one JSON line with the url and the password is honoured', async () => {
  const p = start(['--listen', '127.0.0.1:0', '--backend', db.url, '--password', 's3cret', '--json', '--log-level', 'info']);
  const line = JSON.parse(await p.firstLine) as { url: string; port: number; backend: string };
  assert.match(line.url, /^postgres:\/\/root:s3cret@127\.0\.0\.1:\d+\/defaultdb\?sslmode=disable$/);
  assert.equal(typeof line.port, 'number');
  const c = new pg.Client({ connectionString: line.url });
  await c.connect();
  await c.end();
  p.child.kill('SIGINT');
  assert.equal(await p.exit, 0);
  assert.doesNotMatch(p.stderr(), /s3cret/, 'no secret in the logs');
});

test('a bad --fault is a usage error (exit 2) naming the flag', async () => {
  const p = start(['--listen', '127.0.0.1:0', '--backend', db.url, '--fault', 'explode=1']);
  assert.equal(await p.exit, 2);
  assert.match(p.stderr(), /--fault explode=1/);
});
