/** Row order within a self-referencing table (apply/self-fk.ts, apply/dependency-order.ts). */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { JsonNumber, type JsonValue } from '../../src/lib/exact-json.js';
import { dependencyOrder, layersByDepth, parentsByValue } from '../../src/replicator/apply/dependency-order.js';
import { childFirstDelete, deleteLayers, orderSelfReferences, orderUpserts, type WriteOp } from '../../src/replicator/apply/self-fk.js';
import { alignByKey } from '../../src/replicator/dialects/shared/by-keys.js';
import type { ColumnInfo, NormalisedRow, TableInfo, TargetSchema, TargetTx, WriteResult } from '../../src/replicator/types.js';

const schema: TargetSchema = { parts: ['db', 'public'], key: 'db.public' };
const int = (name: string): ColumnInfo => ({ name, type: 'bigint', class: 'int', nullable: name !== 'id', generated: false, hasDefault: false });
const emp: TableInfo = {
  name: 'emp',
  primaryKey: ['id'],
  columns: [int('id'), int('mgr'), int('mentor')],
  selfReferences: [
    { columns: ['mgr'], referenced: ['id'] },
    { columns: ['mentor'], referenced: ['id'] },
  ],
};
const plain: TableInfo = { name: 'seq', primaryKey: ['id'], columns: [int('id'), int('v')] };

const img = (id: number, mgr: number | null = null, mentor: number | null = null) => `{"id":${id},"mgr":${mgr},"mentor":${mentor}}`;
const ids = (images: readonly string[]) => images.map((t) => (JSON.parse(t) as { id: number }).id);
const key = (id: number): JsonValue[] => [new JsonNumber(String(id))];

describe('dependencyOrder', () => {
  it('keeps the order of independent items', () => {
    const { order, depth } = dependencyOrder([[], [], []]);
    assert.deepEqual(order, [0, 1, 2]);
    assert.deepEqual([...depth], [0, 0, 0]);
  });

  it('moves a dependency just ahead of the first item that needs it, and nothing else', () => {
    // 0 and 2 need 3; 1 needs nothing.
    const { order, depth } = dependencyOrder([[3], [], [3], []]);
    assert.deepEqual(order, [3, 0, 1, 2]);
    assert.deepEqual([...depth], [1, 0, 1, 0]);
  });

  it('reverses a chain listed child first', () => {
    assert.deepEqual(dependencyOrder([[1], [2], []]).order, [2, 1, 0]);
  });

  it('cuts a cycle deterministically, places every item once and ignores self-dependencies', () => {
    const deps = [[1], [0], [2]];
    const a = dependencyOrder(deps);
    assert.deepEqual(a.order, [1, 0, 2]);
    assert.deepEqual(dependencyOrder(deps).order, a.order, 'same input, same order');
    assert.deepEqual([...a.depth], [1, 0, 0]);
  });

  it('walks a chain of 200000 without overflowing the stack', () => {
    const n = 200_000;
    const deps = Array.from({ length: n }, (_, i) => (i + 1 < n ? [i + 1] : []));
    const { order, depth } = dependencyOrder(deps);
    assert.equal(order[0], n - 1);
    assert.equal(order[n - 1], 0);
    assert.equal(depth[0], n - 1);
  });

  it('groups items by depth for layered deletes', () => {
    assert.deepEqual(layersByDepth(Uint32Array.from([2, 0, 1, 0])), [[1, 3], [2], [0]]);
  });
});

describe('parentsByValue', () => {
  it('links an item to the item whose parent values equal its child values, through every link', () => {
    const deps = parentsByValue(3, [
      { child: ['b', undefined, 'a'], parent: ['a', 'b', 'c'] },
      { child: [undefined, 'c', 'c'], parent: ['a', 'b', 'c'] },
    ]);
    assert.deepEqual(deps, [[1], [2], [0]], 'item 2 refers to itself through the second link: dropped');
  });
});

describe('orderUpserts', () => {
  it('puts a manager before the employees whose keys sort before it as JSON text', () => {
    // Staged order of one source transaction: [20], [21], [3].
    assert.deepEqual(ids(orderUpserts(emp, [img(20, 3), img(21, 3), img(3)])), [3, 20, 21]);
  });

  it('orders a 3-level chain and follows every self-reference', () => {
    assert.deepEqual(ids(orderUpserts(emp, [img(300, 40), img(40, 5), img(5)])), [5, 40, 300]);
    assert.deepEqual(ids(orderUpserts(emp, [img(21, 3, 300), img(3), img(300, 40), img(40)])), [3, 40, 300, 21]);
  });

  it('leaves rows whose parent is not in the batch where they are', () => {
    const batch = [img(20, 99), img(10), img(5, 77)];
    assert.deepEqual(orderUpserts(emp, batch), batch);
  });

  it('matches column names case-insensitively and handles composite references', () => {
    assert.deepEqual(orderUpserts(emp, ['{"ID":2,"Mgr":1}', '{"Id":1,"MGR":null}']), ['{"Id":1,"MGR":null}', '{"ID":2,"Mgr":1}']);
    const org: TableInfo = {
      name: 'org',
      primaryKey: ['tenant', 'id'],
      columns: [int('tenant'), int('id'), int('boss')],
      selfReferences: [{ columns: ['tenant', 'boss'], referenced: ['tenant', 'id'] }],
    };
    const rows = ['{"tenant":1,"id":2,"boss":1}', '{"tenant":2,"id":1,"boss":null}', '{"tenant":1,"id":1,"boss":null}'];
    assert.deepEqual(orderUpserts(org, rows), [rows[2], rows[0], rows[1]], 'tenant 2 row 1 is not the parent of tenant 1 row 2');
  });

  it('keeps a cycle in a deterministic order and leaves malformed images to the upsert', () => {
    assert.deepEqual(ids(orderUpserts(emp, [img(1, 2), img(2, 1)])), [2, 1]);
    assert.deepEqual(orderUpserts(emp, ['not json', img(2, 1), img(1)]), ['not json', img(1), img(2, 1)]);
  });
});

describe('orderSelfReferences', () => {
  const up = (table: TableInfo, rows: string[]): WriteOp => ({ kind: 'upsert', table, rows });
  const del = (table: TableInfo, keys: number[]): WriteOp => ({ kind: 'delete', table, keys: keys.map(key) });

  it('returns the very same ops when no table references itself', () => {
    const ops = [up(plain, ['{"id":1}']), del(plain, [2])];
    assert.equal(orderSelfReferences(ops), ops);
  });

  it('orders a run of upsert chunks as one batch and keeps the chunk sizes', () => {
    // --flushSize 2 over [10], [11], [12], [8], [9].
    const ops = [up(plain, ['{"id":1}']), up(emp, [img(10, 9), img(11, 9)]), up(emp, [img(12, 10), img(8, 12)]), up(emp, [img(9)]), up(plain, ['{"id":2}'])];
    const out = orderSelfReferences(ops);
    assert.equal(out[0], ops[0]);
    assert.equal(out[4], ops[4]);
    assert.deepEqual(
      out.slice(1, 4).map((op) => (op.kind === 'upsert' ? ids(op.rows) : [])),
      [[9, 10], [11, 12], [8]],
    );
  });

  it('splits a run where a key repeats, so two images of one row keep their order', () => {
    const ops = [up(emp, [img(1, 2)]), up(emp, [img(2), img(1)])];
    const out = orderSelfReferences(ops);
    assert.deepEqual(out.map((op) => (op.kind === 'upsert' ? ids(op.rows) : [])), [[1], [2, 1]]);
  });

  it('merges a run of delete chunks into one child-first delete, each key once', () => {
    const out = orderSelfReferences([del(emp, [1, 10]), del(emp, [2, 1]), del(plain, [5])]);
    assert.equal(out.length, 2);
    const first = out[0]!;
    assert.ok(first.kind === 'delete' && first.childFirst);
    assert.deepEqual(first.keys.map(String), ['1', '10', '2']);
    assert.ok(out[1]!.kind === 'delete' && !out[1]!.childFirst);
  });
});

/** A transaction over rows id -> [mgr, mentor] (canonical text) that records each delete. */
class FakeTx implements TargetTx {
  readonly deleted: string[][] = [];
  reads = 0;
  constructor(
    private readonly rows: Map<string, [string | null, string | null]>,
    canRead = true,
  ) {
    if (!canRead) this.readByKeys = undefined as never;
  }
  async upsert(): Promise<WriteResult> {
    throw new Error('not used');
  }
  async delete(_s: TargetSchema, _t: TableInfo, keys: readonly (readonly JsonValue[])[]): Promise<WriteResult> {
    this.deleted.push(keys.map((k) => String(k[0])));
    for (const k of keys) this.rows.delete(String(k[0]));
    return { rows: keys.length, statements: 1 };
  }
  async readByKeys(_s: TargetSchema, _t: TableInfo, keys: readonly (readonly JsonValue[])[], columns: readonly string[]): Promise<(NormalisedRow | undefined)[]> {
    this.reads++;
    return keys.map((k) => {
      const id = String(k[0]);
      const r = this.rows.get(id);
      if (!r) return undefined;
      const values: Record<string, string | null> = { id, mgr: r[0], mentor: r[1] };
      return columns.map((c) => values[c] ?? null);
    });
  }
}

describe('child-first deletes', () => {
  const chain = () =>
    new Map<string, [string | null, string | null]>([
      ['1', [null, null]],
      ['2', ['1', null]],
      ['3', ['2', '1']],
      ['10', ['3', null]],
      ['60', [null, null]],
    ]);

  it('deletes a chain given parent first (keys only) in layers, children first, reading the target once', async () => {
    const tx = new FakeTx(chain());
    const write = childFirstDelete(tx, schema, emp, [1, 10, 2, 3].map(key));
    assert.deepEqual(await write(), { rows: 4, statements: 4 });
    assert.deepEqual(tx.deleted, [['10'], ['3'], ['2'], ['1']]);
    assert.equal(tx.reads, 1);
  });

  it('puts rows already gone and unrelated rows in the first layer', async () => {
    const tx = new FakeTx(chain());
    const layers = await deleteLayers(tx, schema, emp, [2, 99, 60, 1].map(key));
    assert.deepEqual(layers.map((l) => l.map(String)), [['2', '99', '60'], ['1']]);
  });

  it('keeps the order without reading when there is one key or the dialect cannot read by key', async () => {
    const one = new FakeTx(chain());
    assert.deepEqual((await deleteLayers(one, schema, emp, [key(1)])).map((l) => l.map(String)), [['1']]);
    assert.equal(one.reads, 0);
    const blind = new FakeTx(chain(), false);
    assert.deepEqual((await deleteLayers(blind, schema, emp, [1, 2].map(key))).map((l) => l.map(String)), [['1', '2']]);
  });

  it('ends with every key in exactly one layer when rows reference each other in a cycle', async () => {
    // 1 <-> 2 is a cycle (no order can delete it row by row); 3 references 1 and still goes before it.
    const tx = new FakeTx(new Map([['1', ['2', null]], ['2', ['1', null]], ['3', ['1', null]]]));
    const layers = await deleteLayers(tx, schema, emp, [1, 2, 3].map(key));
    assert.deepEqual(layers.map((l) => l.map(String)), [['2', '3'], ['1']]);
  });
});

describe('alignByKey', () => {
  it('lines rows read in any order up with the keys asked for, by canonical key text', () => {
    const uuid: ColumnInfo = { name: 'id', type: 'uuid', class: 'uuid', nullable: false, generated: false, hasDefault: false };
    const rows: NormalisedRow[] = [
      ['bbbbbbbb-0000-4000-8000-000000000002', 'x'],
      ['aaaaaaaa-0000-4000-8000-000000000001', null],
    ];
    const keys: JsonValue[][] = [['AAAAAAAA-0000-4000-8000-000000000001'], ['cccccccc-0000-4000-8000-000000000003'], ['bbbbbbbb-0000-4000-8000-000000000002']];
    assert.deepEqual(alignByKey([uuid], keys, rows), [[null], undefined, ['x']]);
  });
});
