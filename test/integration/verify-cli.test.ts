// `molt-failback verify` through the built CLI (npm run build first; npm test does): exit codes, the
// JSON report, values kept out unless --show-values, and the settings shared with `run`.
// The CockroachDB side is the emulator over this file's PostgreSQL database (see verify-fixtures.ts);
// tables are named crdb.<table>, which verify resolves in defaultdb.crdb on CockroachDB and as <table>
// in the target's schema public.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.js';
import { ROOT, describeRun, parseJson, runCli } from '../helpers/cli.js';
import { ExitCode } from '../../src/lib/errors.js';
import type { VerifyReport } from '../../src/verify/index.js';
import { pgExec, startCrdbSide, valuesList, type CrdbSide } from './verify-fixtures.js';

let db: TestDatabase;
let crdb: CrdbSide;
let dir: string;
const conns = () => ['--crdb-conn', crdb.url, '--target-conn', db.url];

/** dist/ must hold this code, not an older build: compare the sources' times with the built command's. */
function assertFreshBuild(): void {
  const built = statSync(join(ROOT, 'dist', 'commands', 'verify.js'), { throwIfNoEntry: false });
  const sources = [join(ROOT, 'src', 'commands', 'verify.ts'), ...readdirSync(join(ROOT, 'src', 'verify')).map((f) => join(ROOT, 'src', 'verify', f))];
  const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
  if (!built || built.mtimeMs < newest) throw new Error('dist/ is missing or older than src/verify: run `npm run build` first (npm test does).');
}

before(async () => {
  assertFreshBuild();
  db = await createPgDatabase('verify_cli');
  crdb = await startCrdbSide(db);
  dir = mkdtempSync(join(tmpdir(), 'verify-cli-'));
  await crdb.exec(`CREATE TABLE crdb.same (id INT8 PRIMARY KEY, v TEXT); INSERT INTO crdb.same VALUES ${valuesList(25)};
     CREATE TABLE crdb.accounts (id INT8 PRIMARY KEY, email TEXT);
     INSERT INTO crdb.accounts VALUES (1, 'ann@example.com'), (2, 'bob@example.com'), (3, 'cy@example.com');`);
  await pgExec(
    db.url,
    `CREATE TABLE public.same (id INT8 PRIMARY KEY, v TEXT); INSERT INTO public.same VALUES ${valuesList(25)};
     CREATE TABLE public.accounts (id INT8 PRIMARY KEY, email TEXT);
     INSERT INTO public.accounts VALUES (1, 'ann@example.com'), (3, 'private@example.com');`,
  );
});
after(async () => {
  await crdb?.stop();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('equal tables exit 0 with a human verdict on stdout', async () => {
  const r = await runCli(['verify', ...conns(), '--tables', 'crdb.same', '--chunk-size', '10']);
  assert.equal(r.code, ExitCode.OK, describeRun(r));
  assert.match(r.stdout, /crdb\.same\s+equal\s+rows 25 \/ 25\s+chunks 3 \(0 differing\)/);
  assert.match(r.stdout, /Verdict: EQUAL/);
});

test('differences exit 8; --json lists keys and column names but no values', async () => {
  const r = await runCli(['verify', ...conns(), '--table', 'crdb.same', '--table', 'crdb.accounts', '--settle-timeout', '0', '--json']);
  assert.equal(r.code, ExitCode.MISMATCH, describeRun(r));
  const report = parseJson<VerifyReport>(r);
  assert.equal(report.verdict, 'mismatch');
  assert.deepEqual(report.tables.map((t) => [t.table, t.verdict]), [['crdb.same', 'equal'], ['crdb.accounts', 'mismatch']]);
  assert.deepEqual(report.tables[1]?.differences.listed, [
    { kind: 'missing', key: { id: '2' } },
    { kind: 'changed', key: { id: '3' }, columns: ['email'] },
  ]);
  assert.doesNotMatch(r.stdout + r.stderr, /example\.com/);
});

test('--show-values puts the differing rows in the output', async () => {
  const r = await runCli(['verify', ...conns(), '--tables', 'crdb.accounts', '--settle-timeout', '0', '--show-values']);
  assert.equal(r.code, ExitCode.MISMATCH, describeRun(r));
  assert.match(r.stdout, /changed\s+id=3\s+\(columns: email\)/);
  assert.match(r.stdout, /target:\s+id=3, email="private@example.com"/);
});

test('the settings come from the environment and the config file, as for run', async () => {
  const file = join(dir, 'failback.json');
  writeFileSync(file, JSON.stringify({ crdb: { conn: crdb.url }, tables: ['crdb.same'], staging: { schema: 'defaultdb._replicator' } }));
  const r = await runCli(['verify', '--config', file, '--json'], { env: { MOLT_FAILBACK_TARGET_CONN: db.url } });
  assert.equal(r.code, ExitCode.OK, describeRun(r));
  assert.equal(parseJson<VerifyReport>(r).tables[0]?.rows.target, 25);
});

test('configuration problems exit 2 or 3 and name the setting; an unknown table exits 2', async () => {
  const missing = await runCli(['verify', '--crdb-conn', crdb.url, '--tables', 'crdb.same']);
  assert.equal(missing.code, ExitCode.MISSING_INPUT, describeRun(missing));
  assert.match(missing.stderr, /target\.conn/);

  const badDuration = await runCli(['verify', ...conns(), '--tables', 'crdb.same', '--settle-timeout', 'soon']);
  assert.equal(badDuration.code, ExitCode.USAGE, describeRun(badDuration));
  assert.match(badDuration.stderr, /--settle-timeout/);

  const unknown = await runCli(['verify', ...conns(), '--tables', 'crdb.nope', '--json']);
  assert.equal(unknown.code, ExitCode.USAGE, describeRun(unknown));
  assert.equal((parseJson<{ error: { code: string } }>(unknown)).error.code, 'VERIFY_TABLES');
});

test('an unreachable database exits 4 without printing its password', async () => {
  const r = await runCli(['verify', '--crdb-conn', crdb.url, '--target-conn', 'postgres://app:hunter2secret@127.0.0.1:1/app', '--tables', 'crdb.same']);
  assert.equal(r.code, ExitCode.UNREACHABLE, describeRun(r));
  assert.match(r.stderr, /target/);
  assert.doesNotMatch(r.stdout + r.stderr, /hunter2secret/);
});
