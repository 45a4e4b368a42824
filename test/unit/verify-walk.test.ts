// The chunk walk and the settle loop over in-memory sides: exhaustive chunk-boundary cases and seeded
// random differences checked against a brute-force diff. (The same logic runs against real PostgreSQL
// and MariaDB in test/integration/verify-*.test.ts; here the inputs can be bent freely.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyComparator, type CanonicalKey, type KeyComparator } from '../../src/verify/order.js';
import type { ProjectedRow } from '../../src/verify/chunk.js';
import { KeyOrderError, walkChunks, type PageReader } from '../../src/verify/walk.js';
import { verifyTableRows, type TableRunOptions } from '../../src/verify/table.js';
import type { TablePlan } from '../../src/verify/shape.js';

/** A side backed by an array kept in key order; `reads` counts calls so tests can change data between them. */
function memorySide(rows: ProjectedRow[], keyLength: number, compare: KeyComparator) {
  const side = {
    rows,
    reads: 0,
    read: (async (after: CanonicalKey | undefined, limit: number) => {
      side.reads++;
      const sorted = [...side.rows].sort((a, b) => compare(a.slice(0, keyLength) as string[], b.slice(0, keyLength) as string[]));
      return sorted.filter((r) => after === undefined || compare(r.slice(0, keyLength) as string[], after) > 0).slice(0, limit);
    }) as PageReader,
  };
  return side;
}

const intPlan = (valueColumns = 1): TablePlan => ({
  columns: [
    { name: 'id', sourceIndex: 0, targetIndex: 0, sourceClass: 'int', targetClass: 'int' },
    ...Array.from({ length: valueColumns }, (_, i) => ({ name: `v${i}`, sourceIndex: i + 1, targetIndex: i + 1, sourceClass: 'text' as const, targetClass: 'text' as const })),
  ],
  keyLength: 1,
  keyFamilies: ['number'],
  sourceKeyClasses: ['int'],
  targetKeyClasses: ['int'],
});

const rowsOf = (n: number, from = 1) => Array.from({ length: n }, (_, i) => [String(from + i), `v${from + i}`]);

function options(plan: TablePlan, source: PageReader, target: PageReader, extra: Partial<TableRunOptions> = {}): TableRunOptions {
  return { table: 't', plan, readSource: source, readTarget: target, chunkSize: 3, maxDiffs: 1000, recheckIntervalMs: 10, settleTimeoutMs: 0, showValues: false, ...extra };
}

test('chunk boundaries: every row is compared exactly once for sizes around multiples of the chunk size', async () => {
  const cmp = keyComparator(['number']);
  for (const chunkSize of [1, 2, 3, 5]) {
    for (const n of [0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 2 * chunkSize - 1, 2 * chunkSize, 2 * chunkSize + 1, 3 * chunkSize]) {
      const s = memorySide(rowsOf(n), 1, cmp);
      const t = memorySide(rowsOf(n), 1, cmp);
      const seen: string[] = [];
      let chunks = 0;
      for await (const c of walkChunks(s.read, t.read, { chunkSize, keyLength: 1, compare: cmp })) {
        chunks++;
        assert.ok(c.source.length <= chunkSize && c.target.length <= chunkSize);
        assert.deepEqual(c.source, c.target);
        seen.push(...c.source.map((r) => r[0] as string));
      }
      assert.deepEqual(seen, rowsOf(n).map((r) => r[0]), `chunkSize ${chunkSize}, ${n} rows`);
      assert.equal(chunks, Math.ceil(n / chunkSize), `chunkSize ${chunkSize}, ${n} rows`);
    }
  }
});

test('one side longer than the other: the tail is still compared chunk by chunk', async () => {
  const cmp = keyComparator(['number']);
  for (const [ns, nt] of [[0, 7], [7, 0], [3, 10], [10, 3], [6, 7]]) {
    const r = await verifyTableRows(options(intPlan(), memorySide(rowsOf(ns as number), 1, cmp).read, memorySide(rowsOf(nt as number), 1, cmp).read));
    assert.deepEqual(r.rows, { source: ns, target: nt });
    assert.equal(r.counts.missing, Math.max(0, (ns as number) - (nt as number)));
    assert.equal(r.counts.extra, Math.max(0, (nt as number) - (ns as number)));
  }
});

/** Small deterministic PRNG (mulberry32) so failures reproduce. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('random differences on composite keys match a brute-force diff (seeded)', async () => {
  const cmp = keyComparator(['number', 'text']);
  const plan: TablePlan = {
    columns: [
      { name: 'a', sourceIndex: 0, targetIndex: 0, sourceClass: 'int', targetClass: 'int' },
      { name: 'b', sourceIndex: 1, targetIndex: 1, sourceClass: 'text', targetClass: 'text' },
      { name: 'v', sourceIndex: 2, targetIndex: 2, sourceClass: 'text', targetClass: 'text' },
    ],
    keyLength: 2,
    keyFamilies: ['number', 'text'],
    sourceKeyClasses: ['int', 'text'],
    targetKeyClasses: ['int', 'text'],
  };
  const rand = prng(42);
  for (let round = 0; round < 40; round++) {
    const source: ProjectedRow[] = [];
    for (let a = 0; a < 1 + Math.floor(rand() * 8); a++) for (const b of ['B', 'a', 'aa', 'é']) if (rand() < 0.8) source.push([String(a), b, `x${Math.floor(rand() * 3)}`]);
    const target = source.filter(() => rand() < 0.85).map((r) => (rand() < 0.1 ? [r[0], r[1], 'changed'] : r));
    if (rand() < 0.5) target.push(['99', 'z', 'extra'], ['-1', 'a', 'extra']);
    const expected = new Map<string, string>();
    const id = (r: ProjectedRow) => JSON.stringify(r.slice(0, 2));
    const tById = new Map(target.map((r) => [id(r), r]));
    const sById = new Map(source.map((r) => [id(r), r]));
    for (const r of source) {
      const t = tById.get(id(r));
      if (!t) expected.set(id(r), 'missing');
      else if (t[2] !== r[2]) expected.set(id(r), 'changed');
    }
    for (const r of target) if (!sById.has(id(r))) expected.set(id(r), 'extra');

    const chunkSize = 1 + Math.floor(rand() * 6);
    const r = await verifyTableRows(options(plan, memorySide(source, 2, cmp).read, memorySide(target, 2, cmp).read, { chunkSize }));
    const got = new Map(r.listed.map((d) => [JSON.stringify([d.key.a, d.key.b]), d.kind]));
    assert.deepEqual(got, expected, `round ${round}, chunk size ${chunkSize}`);
    assert.deepEqual(r.rows, { source: source.length, target: target.length });
    assert.equal(r.counts.missing + r.counts.extra + r.counts.changed, expected.size);
  }
});

test('rows out of key order fail with KeyOrderError instead of false differences', async () => {
  const cmp = keyComparator(['text']);
  const sorted: PageReader = async () => [['B'], ['a']];
  // A case-insensitive collation returns 'a' before 'B'.
  const insensitive: PageReader = async () => [['a'], ['B']];
  const walk = async () => {
    for await (const _ of walkChunks(sorted, insensitive, { chunkSize: 10, keyLength: 1, compare: cmp })) void _;
  };
  await assert.rejects(walk, (err: unknown) => err instanceof KeyOrderError && err.side === 'target');
});

test('a difference that concurrent writes fix settles and is not reported', async () => {
  const cmp = keyComparator(['number']);
  const source = memorySide(rowsOf(10), 1, cmp);
  const lagging = rowsOf(10).filter((r) => r[0] !== '4').map((r) => (r[0] === '8' ? [r[0], 'old'] : r));
  const target = memorySide(lagging, 1, cmp);
  const readTarget: PageReader = async (after, limit) => {
    // Replication catches up after the full pass: from the 6th read on, the target has the rows.
    if (target.reads === 5) target.rows = rowsOf(10);
    return target.read(after, limit);
  };
  const events: string[] = [];
  const r = await verifyTableRows(
    options(intPlan(), source.read, readTarget, { settleTimeoutMs: 5000, onProgress: (e) => events.push(e.kind) }),
  );
  assert.deepEqual(r.counts, { missing: 0, extra: 0, changed: 0 });
  assert.equal(r.settled, 2);
  assert.ok(r.rechecks >= 1);
  assert.ok(events.includes('recheck'));
});

test('a persistent difference is reported after the settle timeout; new lag during re-checks is not', async () => {
  const cmp = keyComparator(['number']);
  const source = memorySide(rowsOf(10), 1, cmp);
  const target = memorySide(rowsOf(10).filter((r) => r[0] !== '2'), 1, cmp);
  const readSource: PageReader = async (after, limit) => {
    // A write on CockroachDB after the full pass: row 3 changes and has not replicated yet.
    if (source.reads === 4) source.rows = source.rows.map((r) => (r[0] === '3' ? ['3', 'new'] : r));
    return source.read(after, limit);
  };
  const started = Date.now();
  const r = await verifyTableRows(options(intPlan(), readSource, target.read, { settleTimeoutMs: 120, recheckIntervalMs: 30 }));
  assert.ok(Date.now() - started >= 120, 'waited for the settle timeout');
  assert.ok(r.rechecks >= 1);
  assert.deepEqual(r.counts, { missing: 1, extra: 0, changed: 0 });
  assert.deepEqual(r.listed, [{ kind: 'missing', key: { id: '2' } }]);
});

test('max diffs bounds the list, not the counts; over the tracking limit ranges keep counts only', async () => {
  const cmp = keyComparator(['number']);
  const r = await verifyTableRows(options(intPlan(), memorySide(rowsOf(50), 1, cmp).read, memorySide([], 1, cmp).read, { maxDiffs: 4, trackLimit: 10, settleTimeoutMs: 40 }));
  assert.equal(r.counts.missing, 50);
  assert.equal(r.listed.length, 4);
  assert.deepEqual(r.listed.map((d) => d.key.id), ['1', '2', '3', '4']);
});

test('values are kept only with showValues', async () => {
  const cmp = keyComparator(['number']);
  const s = memorySide([['1', 'secret']], 1, cmp);
  const t = memorySide([['1', 'other']], 1, cmp);
  const hidden = await verifyTableRows(options(intPlan(), s.read, t.read));
  assert.deepEqual(hidden.listed, [{ kind: 'changed', key: { id: '1' }, columns: ['v0'] }]);
  const shown = await verifyTableRows(options(intPlan(), s.read, t.read, { showValues: true }));
  assert.deepEqual(shown.listed[0]?.source, { id: '1', v0: 'secret' });
  assert.deepEqual(shown.listed[0]?.target, { id: '1', v0: 'other' });
});
