// Pure parts of verify: key order, digests, row diffs, column matching and the human rendering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonNumber } from '../../src/lib/exact-json.js';
import type { ColumnClass, ColumnInfo, TableInfo } from '../../src/replicator/types.js';
import { compareCodePoints, compareDecimal, keyComparator, keyToJson } from '../../src/verify/order.js';
import { diffRows, digestRows, sameDigest } from '../../src/verify/chunk.js';
import { planTable, projectRow } from '../../src/verify/shape.js';
import { renderReport } from '../../src/verify/render.js';
import type { VerifyReport } from '../../src/verify/types.js';

test('decimal order is exact beyond 2^53 and across signs and fractions', () => {
  const sorted = ['-100', '-9.5', '-9', '-0.25', '0', '0.000001', '0.5', '1', '9007199254740993', '9007199254740994', '90071992547409930'];
  for (let i = 0; i < sorted.length; i++) {
    for (let j = 0; j < sorted.length; j++) {
      assert.equal(Math.sign(compareDecimal(sorted[i] as string, sorted[j] as string)), Math.sign(i - j), `${sorted[i]} vs ${sorted[j]}`);
    }
  }
});

test('text order is code point order (UTF-8 byte order), not UTF-16 unit order', () => {
  assert.ok(compareCodePoints('B', 'a') < 0, 'binary order puts upper case first');
  assert.ok(compareCodePoints('ab', 'abc') < 0);
  // U+FFFD is below U+1F600, though its UTF-16 unit is above the surrogate 0xD83D.
  assert.ok(compareCodePoints('\uFFFD', '\u{1F600}') < 0);
  assert.ok('\uFFFD' > '\u{1F600}', 'JavaScript < disagrees, which is why compareCodePoints exists');
  assert.equal(compareCodePoints('é', 'é'), 0);
});

test('composite key comparator and key -> readRows after values', () => {
  const cmp = keyComparator(['number', 'text', 'bool']);
  assert.ok(cmp(['2', 'a', 'false'], ['10', 'a', 'false']) < 0);
  assert.ok(cmp(['10', 'a', 'true'], ['10', 'b', 'false']) < 0);
  assert.ok(cmp(['10', 'b', 'false'], ['10', 'b', 'true']) < 0);
  const json = keyToJson(['9223372036854775807', 'x', 'true'], ['int', 'text', 'bool']);
  assert.ok(json[0] instanceof JsonNumber);
  assert.equal(String(json[0]), '9223372036854775807');
  assert.deepEqual(json.slice(1), ['x', true]);
  // Bytes keys go back as "\\x" + hex, the changefeed's form, so a dialect cannot read them as text.
  assert.deepEqual(keyToJson(['00ff'], ['bytes']), ['\\x00ff']);
});

test('digest tells NULL from the text "null" and detects reordering of values', () => {
  assert.ok(!sameDigest(digestRows([['1', null]]), digestRows([['1', 'null']])));
  assert.ok(!sameDigest(digestRows([['1', 'a,b']]), digestRows([['1', 'a', 'b']])));
  assert.ok(sameDigest(digestRows([['1', 'x']]), digestRows([['1', 'x']])));
});

test('diffRows classifies missing, extra and changed by key, in key order', () => {
  const cmp = keyComparator(['number']);
  const source = [['1', 'a'], ['2', 'b'], ['4', 'd'], ['5', 'e']];
  const target = [['1', 'a'], ['3', 'c'], ['4', 'D'], ['5', 'e'], ['6', 'f']];
  const diffs = diffRows(source, target, 1, cmp);
  assert.deepEqual(
    diffs.map((d) => [d.kind, d.key[0], d.columns]),
    [
      ['missing', '2', undefined],
      ['extra', '3', undefined],
      ['changed', '4', [1]],
      ['extra', '6', undefined],
    ],
  );
});

const col = (name: string, cls: ColumnClass, type: string = cls): ColumnInfo => ({ name, type, class: cls, nullable: true, generated: false, hasDefault: false });
const table = (name: string, columns: ColumnInfo[], primaryKey: string[]): TableInfo => ({ name, columns, primaryKey });

test('planTable matches columns case-insensitively and reports one-sided columns', () => {
  const source = table('t', [col('id', 'int'), col('name', 'text'), col('note', 'text')], ['id']);
  const target = table('T', [col('ID', 'int'), col('Name', 'text'), col('audit', 'timestamp')], ['ID']);
  const { schema, plan } = planTable(source, target);
  assert.ok(plan);
  assert.deepEqual(plan.columns.map((c) => c.name), ['id', 'name']);
  assert.deepEqual(schema.columnsOnlyInSource, ['note']);
  assert.deepEqual(schema.columnsOnlyInTarget, ['audit']);
  assert.equal(schema.problems.length, 2);
});

test('planTable refuses different primary keys and key types that sort differently', () => {
  const a = table('t', [col('id', 'int'), col('v', 'text')], ['id']);
  const b = table('t', [col('v', 'text'), col('id', 'int')], ['v']);
  assert.equal(planTable(a, b).plan, undefined);
  assert.match(planTable(a, b).schema.problems.join(), /primary keys differ/);
  const c = table('t', [col('id', 'text'), col('v', 'text')], ['id']);
  assert.equal(planTable(a, c).plan, undefined);
  assert.match(planTable(a, c).schema.problems.join(), /cannot page/);
  const u = table('t', [col('id', 'uuid'), col('v', 'text')], ['id']);
  assert.ok(planTable(u, c).plan, 'a uuid key may be CHAR(36) on the target');
  assert.match(planTable(a, table('t', [col('id', 'int')], [])).schema.problems.join(), /no primary key on the target/);
});

test('a TIMESTAMPTZ compares with a zone-less DATETIME as UTC wall time', () => {
  const source = table('t', [col('id', 'int'), col('at', 'timestamptz')], ['id']);
  const target = table('t', [col('id', 'int'), col('at', 'timestamp', 'datetime(6)')], ['id']);
  const { schema, plan } = planTable(source, target);
  assert.ok(plan);
  assert.deepEqual(projectRow(plan, ['1', '2024-01-02T03:04:05.000000Z'], 'source'), projectRow(plan, ['1', '2024-01-02T03:04:05.000000'], 'target'));
  assert.match(schema.notes.join(), /UTC wall time/);
});

test('the human report lists keys and columns but values only when the report has them', () => {
  const report: VerifyReport = {
    verdict: 'mismatch',
    tables: [
      {
        table: 'payments',
        verdict: 'mismatch',
        schema: { primaryKey: { source: ['id'], target: ['id'] }, columnsOnlyInSource: [], columnsOnlyInTarget: [], problems: [], notes: [] },
        rows: { source: 3, target: 2 },
        chunks: { compared: 1, differing: 1 },
        rechecks: 0,
        differences: {
          missing: 1,
          extra: 0,
          changed: 1,
          total: 2,
          settled: 0,
          truncated: true,
          listed: [{ kind: 'changed', key: { id: '7' }, columns: ['amount'] }],
        },
      },
    ],
    totals: { tables: 1, mismatchedTables: 1, sourceRows: 3, targetRows: 2, differences: 2 },
    settings: { chunkSize: 1000, maxDiffs: 1, recheckIntervalMs: 2000, settleTimeoutMs: 0, showValues: false },
    startedAt: new Date(0).toISOString(),
    durationMs: 10,
  };
  const text = renderReport(report);
  assert.match(text, /changed\s+id=7\s+\(columns: amount\)/);
  assert.match(text, /1 more not listed/);
  assert.match(text, /Verdict: MISMATCH/);
  assert.doesNotMatch(text, /CockroachDB: /);
});
