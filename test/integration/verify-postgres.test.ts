// verifyTables with a real PostgreSQL target (schema `public` of this file's database). The CockroachDB
// side is the emulator over the same database (schema defaultdb.crdb; see verify-fixtures.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.js';
import { verifyTables, type TableReport, type VerifyOptions } from '../../src/verify/index.js';
import { AppError, ExitCode } from '../../src/lib/errors.js';
import { CRDB_KINDS_DDL, CRDB_KINDS_ROWS, PG_TARGET_KINDS, pgExec, startCrdbSide, valuesList, type CrdbSide } from './verify-fixtures.js';

let db: TestDatabase;
let crdb: CrdbSide;
const onCrdb = (sql: string) => crdb.exec(sql);
const onTarget = (sql: string) => pgExec(db.url, sql);
const verify = (tables: string[], extra: Partial<VerifyOptions> = {}) =>
  verifyTables({ source: crdb.endpoint, target: { conn: db.url }, tables, settleTimeoutMs: 0, ...extra });
const only = async (table: string, extra: Partial<VerifyOptions> = {}): Promise<TableReport> => {
  const report = await verify([table], extra);
  assert.equal(report.tables.length, 1);
  return report.tables[0] as TableReport;
};

before(async () => {
  db = await createPgDatabase('verify_pg');
  crdb = await startCrdbSide(db);
});
after(async () => {
  await crdb?.stop();
  await db?.drop();
});

test('equal data of every kind compares equal although typed and written differently', async () => {
  await onCrdb(CRDB_KINDS_DDL);
  await onCrdb(CRDB_KINDS_ROWS);
  await onTarget(PG_TARGET_KINDS);
  const report = await verify(['kinds']);
  const t = report.tables[0] as TableReport;
  assert.deepEqual(t.differences.listed, [], JSON.stringify(t.differences.listed));
  assert.equal(report.verdict, 'equal');
  assert.deepEqual(t.rows, { source: 3, target: 3 });
  assert.deepEqual(t.schema.problems, []);

  // Exactness: values a double or a millisecond clock would confuse still differ.
  await onTarget(`UPDATE public.kinds SET big = 9007199254740992, at = '2024-02-29 23:59:59.123457' WHERE id = 1`);
  const changed = (await verify(['kinds'])).tables[0] as TableReport;
  assert.deepEqual(changed.differences.listed, [{ kind: 'changed', key: { id: '1' }, columns: ['big', 'at'] }]);
});

test('missing, extra and changed rows are each detected and listed by key, in key order', async () => {
  await onCrdb(`CREATE TABLE crdb.diffs (id INT8 PRIMARY KEY, v TEXT, w INT8);
    INSERT INTO crdb.diffs SELECT g, 'v' || g, g FROM generate_series(1, 10) g;`);
  await onTarget(`CREATE TABLE public.diffs (id INT8 PRIMARY KEY, v TEXT, w INT8);
    INSERT INTO public.diffs SELECT g, 'v' || g, g FROM generate_series(1, 10) g WHERE g <> 2;
    UPDATE public.diffs SET v = 'secret-value' WHERE id = 5;
    UPDATE public.diffs SET v = 'x', w = 0 WHERE id = 9;
    INSERT INTO public.diffs VALUES (100, 'v100', 100);`);
  const t = await only('diffs', { chunkSize: 3 });
  assert.equal(t.verdict, 'mismatch');
  assert.deepEqual(t.rows, { source: 10, target: 10 });
  assert.deepEqual(
    { missing: t.differences.missing, extra: t.differences.extra, changed: t.differences.changed, total: t.differences.total },
    { missing: 1, extra: 1, changed: 2, total: 4 },
  );
  assert.deepEqual(t.differences.listed, [
    { kind: 'missing', key: { id: '2' } },
    { kind: 'changed', key: { id: '5' }, columns: ['v'] },
    { kind: 'changed', key: { id: '9' }, columns: ['v', 'w'] },
    { kind: 'extra', key: { id: '100' } },
  ]);
  assert.ok(t.chunks.differing >= 3 && t.chunks.compared >= 4);
  assert.doesNotMatch(JSON.stringify(t), /secret-value/, 'values stay out of the report by default');

  const shown = await only('diffs', { chunkSize: 3, showValues: true, maxDiffs: 2 });
  assert.deepEqual(shown.differences.listed[1], {
    kind: 'changed',
    key: { id: '5' },
    columns: ['v'],
    source: { id: '5', v: 'v5', w: '5' },
    target: { id: '5', v: 'secret-value', w: '5' },
  });
  assert.equal(shown.differences.listed.length, 2);
  assert.equal(shown.differences.truncated, true);
  assert.equal(shown.differences.total, 4);
});

test('chunk boundaries: composite keys, sizes around multiples of the chunk size, differences at the edges', async () => {
  for (const n of [0, 1, 7, 8, 9, 16, 17]) {
    const ddl = (schema: string) => `CREATE TABLE ${schema}.comp_${n} (region TEXT, id INT8, v TEXT, PRIMARY KEY (region, id));`;
    // Mixed case: CockroachDB orders text keys by bytes ('EU' < 'eu' < 'us').
    const rows = (schema: string) =>
      n === 0 ? '' : `INSERT INTO ${schema}.comp_${n} SELECT (ARRAY['EU','eu','us'])[1 + g % 3], g, 'v' || g FROM generate_series(1, ${n}) g;`;
    await onCrdb(ddl('crdb') + rows('crdb'));
    await onTarget(ddl('public') + rows('public'));
    const t = await only(`comp_${n}`, { chunkSize: 4 });
    assert.equal(t.verdict, 'equal', `${n} rows`);
    assert.deepEqual(t.rows, { source: n, target: n });
    assert.equal(t.chunks.compared, Math.ceil(n / 4), `${n} rows`);
  }
  // The first row of the second chunk, the last row of the table and a key past the end on the target.
  await onTarget(`DELETE FROM public.comp_17 WHERE (region, id) IN (SELECT region, id FROM crdb.comp_17 ORDER BY region, id OFFSET 4 LIMIT 1);
    UPDATE public.comp_17 SET v = 'changed' WHERE (region, id) = (SELECT region, id FROM crdb.comp_17 ORDER BY region DESC, id DESC LIMIT 1);
    INSERT INTO public.comp_17 VALUES ('zz', 1, 'extra');`);
  const [fifth] = (await onCrdb('SELECT region, id FROM crdb.comp_17 ORDER BY region, id OFFSET 4 LIMIT 1')).rows;
  const [last] = (await onCrdb('SELECT region, id FROM crdb.comp_17 ORDER BY region DESC, id DESC LIMIT 1')).rows;
  const t = await only('comp_17', { chunkSize: 4 });
  assert.deepEqual(t.differences.listed, [
    { kind: 'missing', key: { region: fifth.region, id: String(fifth.id) } },
    { kind: 'changed', key: { region: last.region, id: String(last.id) }, columns: ['v'] },
    { kind: 'extra', key: { region: 'zz', id: '1' } },
  ]);
});

test('bytes, uuid, timestamptz and decimal keys page across chunks', async () => {
  for (const [name, type, values] of [
    ['k_bytes', 'BYTEA', `'\\x00', '\\x0001', '\\x01', '\\xff', '\\xff00'`],
    ['k_uuid', 'UUID', `'00000000-0000-0000-0000-000000000001', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 'ffffffff-0000-0000-0000-000000000000'`],
    ['k_tstz', 'TIMESTAMPTZ', `'2024-01-01 00:00:00+00', '2024-01-01 00:00:00.000001+00', '2024-01-01 03:00:00+05', '2030-06-01 12:00:00Z'`],
    ['k_dec', 'DECIMAL', `-1.5, -1, 0, 0.25, 1, 10.5, 1e20`],
  ] as const) {
    const insert = (schema: string) => `INSERT INTO ${schema}.${name} SELECT v, 'x' FROM unnest(ARRAY[${values}]::${type}[]) v;`;
    await onCrdb(`CREATE TABLE crdb.${name} (k ${type} PRIMARY KEY, v TEXT); ${insert('crdb')}`);
    await onTarget(`CREATE TABLE public.${name} (k ${type} PRIMARY KEY, v TEXT); ${insert('public')}`);
    const t = await only(name, { chunkSize: 2 });
    assert.equal(t.verdict, 'equal', `${name}: ${JSON.stringify(t.differences.listed)}`);
    assert.ok(t.chunks.compared >= 2, name);
  }
});

test('text keys under a linguistic collation on the target sort as on CockroachDB', async () => {
  await onCrdb(`CREATE TABLE crdb.codes (code TEXT PRIMARY KEY, v TEXT); INSERT INTO crdb.codes VALUES ('B', '1'), ('a', '2'), ('C', '3'), ('b2', '4');`);
  await onTarget(`CREATE TABLE public.codes (code TEXT COLLATE "en-x-icu" PRIMARY KEY, v TEXT); INSERT INTO public.codes VALUES ('B', '1'), ('a', '2'), ('C', '3'), ('b2', '4');`);
  const t = await only('codes', { chunkSize: 2 });
  assert.equal(t.verdict, 'equal', JSON.stringify(t.differences));
});

test('schema differences are reported: one-sided columns, a different key, a table absent on the target', async () => {
  await onCrdb(`CREATE TABLE crdb.cols (id INT8 PRIMARY KEY, a TEXT, only_crdb TEXT); INSERT INTO crdb.cols VALUES (1, 'x', 'y');
    CREATE TABLE crdb.keyed (id INT8 PRIMARY KEY, code TEXT NOT NULL); INSERT INTO crdb.keyed VALUES (1, 'a'), (2, 'b');
    CREATE TABLE crdb.absent (id INT8 PRIMARY KEY); INSERT INTO crdb.absent VALUES (1), (2);`);
  await onTarget(`CREATE TABLE public.cols (id INT8 PRIMARY KEY, a TEXT, only_target TEXT); INSERT INTO public.cols VALUES (1, 'x', 'z');
    CREATE TABLE public.keyed (id INT8 NOT NULL, code TEXT PRIMARY KEY); INSERT INTO public.keyed VALUES (1, 'a');`);
  const report = await verify(['cols', 'keyed', 'absent']);
  assert.equal(report.verdict, 'mismatch');
  const [cols, keyed, absent] = report.tables as TableReport[];
  assert.equal(cols?.verdict, 'mismatch');
  assert.deepEqual(cols?.schema.columnsOnlyInSource, ['only_crdb']);
  assert.deepEqual(cols?.schema.columnsOnlyInTarget, ['only_target']);
  assert.equal(cols?.differences.total, 0, 'the common columns are equal');
  assert.match(keyed?.schema.problems.join() ?? '', /primary keys differ/);
  assert.deepEqual(keyed?.rows, { source: 2, target: 1 });
  assert.match(absent?.schema.problems.join() ?? '', /does not exist/);
  assert.deepEqual(absent?.rows, { source: 2, target: null });
  assert.equal(report.totals.mismatchedTables, 3);
});

test('a table unknown on CockroachDB is a configuration error naming every such table', async () => {
  await assert.rejects(verify(['nope', 'crdb_missing_schema.t']), (err: unknown) => {
    assert.ok(err instanceof AppError);
    assert.equal(err.code, 'VERIFY_TABLES');
    assert.equal(err.exitCode, ExitCode.USAGE);
    assert.match(err.message, /nope: no such table/);
    assert.match(err.message, /crdb_missing_schema\.t: the schema .* does not exist/);
    return true;
  });
});

test('an unreachable target is UNREACHABLE and the message holds no password', async () => {
  await assert.rejects(
    verifyTables({ source: crdb.endpoint, target: { conn: 'postgres://u:topsecret@127.0.0.1:1/x' }, tables: ['kinds'] }),
    (err: unknown) => {
      assert.ok(err instanceof AppError);
      assert.equal(err.exitCode, ExitCode.UNREACHABLE);
      assert.doesNotMatch(`${err.message} ${JSON.stringify(err.toJSON())}`, /topsecret/);
      return true;
    },
  );
});

test('differences that concurrent writes fix settle and are not reported', async () => {
  await onCrdb(`CREATE TABLE crdb.live (id INT8 PRIMARY KEY, v TEXT); INSERT INTO crdb.live VALUES ${valuesList(20)};`);
  await onTarget(`CREATE TABLE public.live (id INT8 PRIMARY KEY, v TEXT); INSERT INTO public.live VALUES ${valuesList(20)};
    DELETE FROM public.live WHERE id = 3; UPDATE public.live SET v = 'old' WHERE id = 14;`);
  let scheduled: Promise<unknown> | undefined;
  const rounds: number[] = [];
  const t = await only('live', {
    chunkSize: 5,
    settleTimeoutMs: 20_000,
    recheckIntervalMs: 100,
    onProgress: (e) => {
      // The full pass has seen both differences once it is past them; then "replication" catches up,
      // while a new write on CockroachDB lags behind for a moment (it must not be reported either).
      if (e.kind === 'chunk' && e.chunks === 4 && !scheduled) {
        scheduled = (async () => {
          await onCrdb(`UPDATE crdb.live SET v = 'new' WHERE id = 7`);
          await new Promise((r) => setTimeout(r, 250));
          await onTarget(`INSERT INTO public.live VALUES (3, 'v3'); UPDATE public.live SET v = 'v14' WHERE id = 14; UPDATE public.live SET v = 'new' WHERE id = 7`);
        })();
      }
      if (e.kind === 'recheck') rounds.push(e.pendingDifferences);
    },
  });
  await scheduled;
  assert.equal(t.verdict, 'equal', JSON.stringify(t.differences));
  assert.equal(t.differences.settled, 2);
  assert.ok(t.rechecks >= 1 && rounds.length === t.rechecks);
});

test('a difference that persists is reported after the settle timeout', async () => {
  await onCrdb(`CREATE TABLE crdb.stuck (id INT8 PRIMARY KEY, v TEXT); INSERT INTO crdb.stuck VALUES ${valuesList(12)};`);
  await onTarget(`CREATE TABLE public.stuck (id INT8 PRIMARY KEY, v TEXT); INSERT INTO public.stuck VALUES ${valuesList(12)};
    DELETE FROM public.stuck WHERE id = 11;`);
  const started = Date.now();
  const t = await only('stuck', { chunkSize: 5, settleTimeoutMs: 600, recheckIntervalMs: 150 });
  assert.ok(Date.now() - started >= 600, 'waited for the settle timeout');
  assert.ok(t.rechecks >= 1);
  assert.equal(t.verdict, 'mismatch');
  assert.deepEqual(t.differences.listed, [{ kind: 'missing', key: { id: '11' } }]);
  assert.equal(t.differences.settled, 0);
});
