import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeForeignKeys } from '../../src/replicator/resolve/fk.js';
import { buildPlans } from '../../src/replicator/resolve/plan.js';
import { chooseWindow, ReadSpan } from '../../src/replicator/resolve/window.js';
import type { StagedRow } from '../../src/replicator/resolve/ports.js';
import type { ApplyOp, SchemaInfo, TableInfo, TargetSchema } from '../../src/replicator/types.js';
import { compareHlc, type Hlc } from '../../src/lib/hlc.js';

const schema: TargetSchema = { parts: ['db', 'public'], key: 'db.public' };
const h = (n: number, l = 0): Hlc => ({ nanos: BigInt(n), logical: l });
const table = (name: string): TableInfo => ({ name, columns: [], primaryKey: ['id'] });

function info(tables: string[], fks: Array<[child: string, parent: string]>): SchemaInfo {
  return {
    schema,
    tables: new Map(tables.map((t) => [t.toLowerCase(), table(t)])),
    foreignKeys: fks.map(([child, parent]) => ({ child, parent })),
  };
}

const up = (t: string, key: number, at: Hlc, v = key): StagedRow => ({ hlc: at, table: t, key: `[${key}]`, after: `{"id":${key},"v":${v}}`, before: null });
const del = (t: string, key: number, at: Hlc): StagedRow => ({ hlc: at, table: t, key: `[${key}]`, after: null, before: null });
const sortRows = (rows: StagedRow[]) =>
  [...rows].sort((a, b) => (a.hlc.nanos < b.hlc.nanos ? -1 : a.hlc.nanos > b.hlc.nanos ? 1 : a.hlc.logical - b.hlc.logical) || (a.table < b.table ? -1 : a.table > b.table ? 1 : a.key < b.key ? -1 : 1));

const shape = (ops: readonly ApplyOp[]) => ops.map((o) => `${o.kind} ${o.table} ${o.rows.map((r) => r.key).join('')}`);

test('FK levels, components and cycles', () => {
  const g = analyzeForeignKeys(info(['a', 'b', 'c', 'x', 'y', 'self', 'p', 'q'], [['b', 'a'], ['c', 'b'], ['c', 'a'], ['y', 'x'], ['self', 'self'], ['p', 'q'], ['q', 'p']]));
  assert.deepEqual([...g.level.entries()].sort(), [['a', 0], ['b', 1], ['c', 2], ['self', 0], ['x', 0], ['y', 1]]);
  assert.deepEqual(g.cyclic, ['p', 'q']);
  assert.equal(g.component.get('a'), g.component.get('c'));
  assert.notEqual(g.component.get('a'), g.component.get('x'));
  assert.notEqual(g.component.get('self'), g.component.get('a'));
});

test('collapse: last mutation per key; delete then re-insert becomes an upsert; insert then delete a delete', () => {
  const rows = sortRows([up('t', 1, h(1), 1), up('t', 1, h(2), 2), del('t', 2, h(1)), up('t', 2, h(3), 9), up('t', 3, h(1)), del('t', 3, h(4))]);
  const out = buildPlans({ schema, from: h(0), to: h(5), rows, info: info(['T'], []), collapse: true, flushSize: 100, splitComponents: false });
  assert.equal(out.plans.length, 1);
  assert.equal(out.rowCount, 3);
  const ops = out.plans[0]?.ops ?? [];
  assert.deepEqual(shape(ops), ['upsert T [1][2]', 'delete T [3]']);
  const first = ops[0];
  assert.ok(first && first.kind === 'upsert');
  assert.deepEqual(
    first.rows.map((r) => r.after),
    ['{"id":1,"v":2}', '{"id":2,"v":9}'],
  );
  assert.deepEqual(out.plans[0]?.from, h(0));
  assert.deepEqual(out.plans[0]?.to, h(5));
});

test('collapse: upserts parent-first, deletes child-first (catalog spelling used)', () => {
  const i = info(['Parent', 'Child', 'GrandChild'], [['Child', 'Parent'], ['GrandChild', 'Child']]);
  const rows = sortRows([up('grandchild', 1, h(1)), up('child', 1, h(1)), up('parent', 1, h(1)), del('parent', 2, h(2)), del('child', 2, h(2)), del('grandchild', 2, h(2))]);
  const out = buildPlans({ schema, from: h(0), to: h(2), rows, info: i, collapse: true, flushSize: 100, splitComponents: false });
  assert.deepEqual(shape(out.plans[0]?.ops ?? []), ['upsert Parent [1]', 'upsert Child [1]', 'upsert GrandChild [1]', 'delete GrandChild [2]', 'delete Child [2]', 'delete Parent [2]']);
});

test('no collapse: HLC by HLC, each parent-first then child-first deletes; same-table runs merge without repeated keys', () => {
  const i = info(['p', 'c'], [['c', 'p']]);
  const rows = sortRows([up('c', 1, h(1)), up('p', 1, h(1)), up('p', 2, h(2)), up('p', 1, h(3), 5), del('c', 1, h(4)), del('p', 1, h(4))]);
  const out = buildPlans({ schema, from: h(0), to: h(4), rows, info: i, collapse: false, flushSize: 100, splitComponents: false });
  assert.equal(out.rowCount, 6);
  assert.deepEqual(shape(out.plans[0]?.ops ?? []), ['upsert p [1]', 'upsert c [1]', 'upsert p [2][1]', 'delete c [1]', 'delete p [1]']);
});

test('no collapse: consecutive HLCs on one table share an op', () => {
  const rows = sortRows([up('t', 1, h(1)), up('t', 2, h(2)), up('t', 3, h(3)), up('t', 1, h(4), 7)]);
  const out = buildPlans({ schema, from: h(0), to: h(4), rows, info: info(['t'], []), collapse: false, flushSize: 100, splitComponents: false });
  assert.deepEqual(shape(out.plans[0]?.ops ?? []), ['upsert t [1][2][3]', 'upsert t [1]']);
});

test('FK cycle: falls back to HLC order and says why', () => {
  const i = info(['a', 'b'], [['a', 'b'], ['b', 'a']]);
  const rows = sortRows([up('a', 1, h(1)), up('b', 1, h(1)), up('a', 1, h(2), 3)]);
  const out = buildPlans({ schema, from: h(0), to: h(2), rows, info: i, collapse: true, flushSize: 100, splitComponents: false });
  assert.match(out.hlcOrderReason ?? '', /foreign-key cycle/);
  assert.deepEqual(shape(out.plans[0]?.ops ?? []), ['upsert a [1]', 'upsert b [1]', 'upsert a [1]']);
});

test('chunks to flushSize and splits independent components into plans', () => {
  const i = info(['p', 'c', 'solo'], [['c', 'p']]);
  const rows = sortRows([...[1, 2, 3, 4, 5].map((k) => up('p', k, h(1))), up('c', 1, h(1)), up('solo', 1, h(1)), up('solo', 2, h(1))]);
  const out = buildPlans({ schema, from: h(0), to: h(1), rows, info: i, collapse: true, flushSize: 2, splitComponents: true });
  assert.equal(out.plans.length, 2);
  const solo = out.plans.find((p) => p.ops.some((o) => o.table === 'solo'));
  assert.deepEqual(shape(solo?.ops ?? []), ['upsert solo [1][2]']);
  // Inside a plan the FK order holds.
  const pc = out.plans.find((p) => p.ops.some((o) => o.table === 'c'));
  assert.deepEqual(shape(pc?.ops ?? []), ['upsert p [1][2]', 'upsert p [3][4]', 'upsert p [5]', 'upsert c [1]']);
});

test('unknown tables pass through with their spelling (the applier reports them)', () => {
  const out = buildPlans({ schema, from: h(0), to: h(1), rows: [up('Ghost', 1, h(1))], info: info(['t'], []), collapse: true, flushSize: 10, splitComponents: true });
  assert.deepEqual(shape(out.plans[0]?.ops ?? []), ['upsert Ghost [1]']);
});

test('window choice: everything fits -> up to the newest resolved', () => {
  const rows = [up('t', 1, h(1)), up('t', 2, h(2))];
  assert.deepEqual(chooseWindow(h(9), rows, 2), { kind: 'window', to: h(9), rows, complete: true });
  assert.deepEqual(chooseWindow(h(9), [], 2), { kind: 'window', to: h(9), rows: [], complete: true });
});

test('window choice: a full page stops before the HLC that may continue', () => {
  const rows = [up('t', 1, h(1)), up('t', 2, h(2)), up('t', 3, h(3)), up('t', 4, h(3))];
  const c = chooseWindow(h(9), rows, 3);
  assert.equal(c.kind, 'window');
  assert.ok(c.kind === 'window');
  assert.deepEqual(c.to, h(2));
  assert.equal(c.rows.length, 2);
  assert.equal(c.complete, false);
});

test('window choice: one HLC larger than a page is read whole', () => {
  const rows = [up('t', 1, h(5, 1)), up('t', 2, h(5, 1)), up('t', 3, h(5, 1))];
  assert.deepEqual(chooseWindow(h(9), rows, 2), { kind: 'single-hlc', hlc: h(5, 1) });
});

test('ReadSpan: bounded reads that shrink to about a page on overflow and widen on short reads', () => {
  const span = new ReadSpan(1000n);
  assert.deepEqual(span.bound(h(0), h(5000)), h(1000));
  assert.deepEqual(span.bound(h(4500), h(5000, 3)), h(5000, 3), 'never past upTo');
  assert.ok(compareHlc(span.bound(h(10, 7), h(99999)), h(10, 7)) > 0, 'always above lo');
  // A page overflowed at HLC 400 (read from 0): the next read spans 400 plus a quarter.
  span.overflowed(h(0), h(400));
  assert.equal(span.spanNanos, 501n);
  // (0, 501] held 1 row with room for 100 more: widen by at most 16 times.
  span.widen(h(0), h(501), 1, 100);
  assert.equal(span.spanNanos, 501n * 16n);
  // Nothing at all: 16 times.
  const s2 = new ReadSpan(10n);
  s2.widen(h(0), h(10), 0, 5);
  assert.equal(s2.spanNanos, 160n);
  // Half the room filled: at least doubles.
  const s3 = new ReadSpan(100n);
  s3.widen(h(0), h(100), 50, 51);
  assert.equal(s3.spanNanos, 200n);
});
