// verifyTables with a real MariaDB target. The CockroachDB side is the emulator over this file's
// PostgreSQL database (schema defaultdb.crdb; see verify-fixtures.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMariaDbDatabase, createPgDatabase, type TestDatabase } from '../helpers/databases.js';
import { verifyTables, type TableReport, type VerifyOptions } from '../../src/verify/index.js';
import { CRDB_KINDS_DDL, CRDB_KINDS_ROWS, MARIADB_TARGET_KINDS, myExec, startCrdbSide, valuesList, type CrdbSide } from './verify-fixtures.js';

let backend: TestDatabase;
let crdb: CrdbSide;
let maria: TestDatabase;
const onCrdb = (sql: string) => crdb.exec(sql);
const onMaria = (sql: string) => myExec(maria.url, sql);
const only = async (table: string, extra: Partial<VerifyOptions> = {}): Promise<TableReport> => {
  const report = await verifyTables({ source: crdb.endpoint, target: { conn: maria.url }, tables: [table], settleTimeoutMs: 0, ...extra });
  return report.tables[0] as TableReport;
};

before(async () => {
  backend = await createPgDatabase('verify_my_crdb');
  crdb = await startCrdbSide(backend);
  maria = await createMariaDbDatabase('verify_my');
});
after(async () => {
  await crdb?.stop();
  await backend?.drop();
  await maria?.drop();
});

test('equal data of every kind compares equal between CockroachDB types and MariaDB types', async () => {
  await onCrdb(CRDB_KINDS_DDL);
  await onCrdb(CRDB_KINDS_ROWS);
  await onMaria(MARIADB_TARGET_KINDS);
  const t = await only('kinds', { showValues: true });
  assert.deepEqual(t.differences.listed, [], JSON.stringify(t.differences.listed, null, 1));
  assert.equal(t.verdict, 'equal');
  assert.deepEqual(t.rows, { source: 3, target: 3 });
  assert.deepEqual(t.schema.problems, []);

  await onMaria(`UPDATE kinds SET big = 9007199254740992, at_tz = '2024-02-29 23:00:00.500001' WHERE id = 1`);
  const changed = await only('kinds');
  assert.deepEqual(changed.differences.listed, [{ kind: 'changed', key: { id: '1' }, columns: ['big', 'at_tz'] }]);
});

test('missing, extra and changed rows are each detected and listed by key', async () => {
  await onCrdb(`CREATE TABLE crdb.diffs (id INT8 PRIMARY KEY, v TEXT, n DECIMAL(10,2));
    INSERT INTO crdb.diffs SELECT g, 'v' || g, g * 1.5 FROM generate_series(1, 12) g;`);
  await onMaria(`CREATE TABLE diffs (id BIGINT PRIMARY KEY, v TEXT, n DECIMAL(12,4));
    INSERT INTO diffs SELECT seq, CONCAT('v', seq), seq * 1.5 FROM seq_1_to_12 WHERE seq NOT IN (4, 12);
    UPDATE diffs SET n = 0 WHERE id = 7;
    INSERT INTO diffs VALUES (13, 'v13', 19.5), (0, 'v0', 0);`);
  const t = await only('diffs', { chunkSize: 5 });
  assert.equal(t.verdict, 'mismatch');
  assert.deepEqual(t.differences.listed, [
    { kind: 'extra', key: { id: '0' } },
    { kind: 'missing', key: { id: '4' } },
    { kind: 'changed', key: { id: '7' }, columns: ['n'] },
    { kind: 'missing', key: { id: '12' } },
    { kind: 'extra', key: { id: '13' } },
  ]);
  assert.deepEqual(t.rows, { source: 12, target: 12 });
});

test('chunk boundaries with composite keys (integer, text) on MariaDB', async () => {
  for (const n of [0, 5, 6, 7, 12, 13]) {
    await onCrdb(`CREATE TABLE crdb.comp_${n} (id INT8, code TEXT, v TEXT, PRIMARY KEY (id, code));
      INSERT INTO crdb.comp_${n} SELECT g / 2, 'c' || (g % 2), 'v' || g FROM generate_series(1, ${n}) g;`);
    await onMaria(`CREATE TABLE comp_${n} (id BIGINT, code VARCHAR(8), v TEXT, PRIMARY KEY (id, code));
      INSERT INTO comp_${n} SELECT seq DIV 2, CONCAT('c', seq % 2), CONCAT('v', seq) FROM seq_1_to_${Math.max(n, 1)} WHERE ${n} > 0;`);
    const t = await only(`comp_${n}`, { chunkSize: 3 });
    assert.equal(t.verdict, 'equal', `${n} rows: ${JSON.stringify(t.differences.listed)}`);
    assert.equal(t.chunks.compared, Math.ceil(n / 3), `${n} rows`);
  }
  // A difference on the last row of a chunk and on the first of the next (chunk size 3: rows 3 and 4).
  await onMaria(`UPDATE comp_13 SET v = 'x' WHERE (id, code) IN ((1, 'c1'), (2, 'c0'))`);
  const t = await only('comp_13', { chunkSize: 3 });
  assert.deepEqual(t.differences.listed, [
    { kind: 'changed', key: { id: '1', code: 'c1' }, columns: ['v'] },
    { kind: 'changed', key: { id: '2', code: 'c0' }, columns: ['v'] },
  ]);
});

test('text keys that differ only in case sort the same on both sides', async () => {
  // CockroachDB orders STRING keys by bytes ('B' < 'a'); MariaDB's default collation is case-insensitive.
  await onCrdb(`CREATE TABLE crdb.codes (code TEXT PRIMARY KEY, v TEXT); INSERT INTO crdb.codes VALUES ('B', '1'), ('a', '2'), ('C', '3'), ('b2', '4');`);
  await onMaria(`CREATE TABLE codes (code VARCHAR(16) PRIMARY KEY, v TEXT); INSERT INTO codes VALUES ('B', '1'), ('a', '2'), ('C', '3'), ('b2', '4');`);
  const t = await only('codes', { chunkSize: 2 });
  assert.equal(t.verdict, 'equal', JSON.stringify(t.differences));
});

test('a MariaDB target catching up settles; a row it never gets is reported', async () => {
  await onCrdb(`CREATE TABLE crdb.live (id INT8 PRIMARY KEY, v TEXT); INSERT INTO crdb.live VALUES ${valuesList(10)};`);
  await onMaria(`CREATE TABLE live (id BIGINT PRIMARY KEY, v TEXT); INSERT INTO live VALUES ${valuesList(10)};
    DELETE FROM live WHERE id IN (2, 9);`);
  let fix: Promise<void> | undefined;
  const t = await only('live', {
    chunkSize: 4,
    settleTimeoutMs: 4000,
    recheckIntervalMs: 100,
    onProgress: (e) => {
      if (e.kind === 'chunk' && e.chunks === 3 && !fix) fix = onMaria(`INSERT INTO live VALUES (2, 'v2')`);
    },
  });
  await fix;
  assert.equal(t.differences.settled, 1);
  assert.deepEqual(t.differences.listed, [{ kind: 'missing', key: { id: '9' } }]);
  assert.equal(t.verdict, 'mismatch');
});
