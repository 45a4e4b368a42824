/** Delete-key mapping onto the target's primary-key order (MOLT maps by position only). */
import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/lib/log.js';
import { ZERO_HLC } from '../../src/lib/hlc.js';
import { KeyOrders } from '../../src/replicator/apply/key-order.js';
import { TargetSchemaError, type TableInfo } from '../../src/replicator/types.js';

const schema = { parts: ['db', 'public'], key: 'db.public' };
// Source key is (city, id); the target declares (id, city).
const vehicles: TableInfo = {
  name: 'vehicles',
  primaryKey: ['id', 'city'],
  columns: ['id', 'city', 'status'].map((name) => ({ name, type: 'text', class: 'text' as const, nullable: false, generated: false, hasDefault: false })),
};

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        cb();
      },
    }),
  });
  return { log, lines };
}

const up = (key: string, after: string) => ({ key, after, hlc: ZERO_HLC });
const del = (key: string, before?: string) => ({ key, before, hlc: ZERO_HLC });
const text = (v: unknown[]) => v.map(String);

describe('KeyOrders', () => {
  it('uses the before image by column name first', () => {
    const k = new KeyOrders(capture().log);
    assert.deepEqual(text(k.targetKey(schema, vehicles, del('["rome","v1"]', '{"city":"rome","id":"v1","status":"x"}'))), ['v1', 'rome']);
  });

  it('uses configured source key columns', () => {
    const k = new KeyOrders(capture().log, new Map([['vehicles', ['city', 'id']]]));
    assert.deepEqual(text(k.targetKey(schema, vehicles, del('["rome","v1"]'))), ['v1', 'rome']);
    const bad = new KeyOrders(capture().log, new Map([['vehicles', ['city', 'vin']]]));
    assert.throws(() => bad.targetKey(schema, vehicles, del('["rome","v1"]')), (e: unknown) => e instanceof TargetSchemaError && e.column === 'id');
  });

  it('learns the order from upserts, refining until unambiguous', () => {
    const k = new KeyOrders(capture().log);
    // Both key values equal: says nothing yet.
    k.learn(schema, vehicles, [up('["x","x"]', '{"city":"x","id":"x"}')]);
    assert.equal(k.learnedOrder(schema, vehicles), undefined);
    k.learn(schema, vehicles, [up('["rome","v1"]', '{"CITY":"rome","Id":"v1","status":"ok"}')]);
    assert.deepEqual(k.learnedOrder(schema, vehicles), [1, 0]);
    assert.deepEqual(text(k.targetKey(schema, vehicles, del('["paris","v2"]'))), ['v2', 'paris']);
  });

  it('reports a learned order once for remembering, and maps by an order remembered elsewhere', () => {
    const told: unknown[] = [];
    const learner = new KeyOrders(capture().log, undefined, (o) => told.push(o));
    assert.equal(learner.unknown(schema, vehicles), true);
    learner.learn(schema, vehicles, [up('["rome","v1"]', '{"city":"rome","id":"v1"}')]);
    learner.learn(schema, vehicles, [up('["oslo","v2"]', '{"city":"oslo","id":"v2"}')]);
    assert.deepEqual(told, [{ schema: 'db.public', table: 'vehicles', columns: ['city', 'id'] }], 'told once, by target column names');
    assert.equal(learner.unknown(schema, vehicles), false);

    // Another process (a restart) has seen no upsert of the table, only what staging remembers.
    const { log, lines } = capture();
    const later = new KeyOrders(log);
    later.absorb([{ schema: 'db.public', table: 'vehicles', columns: ['city', 'id'] }, { schema: 'other.public', table: 'vehicles', columns: ['id', 'city'] }]);
    assert.equal(later.unknown(schema, vehicles), false);
    assert.deepEqual(text(later.targetKey(schema, vehicles, del('["paris","v3"]'))), ['v3', 'paris']);
    assert.equal(lines.filter((l) => l.level === 'warn').length, 0, 'no positional fallback');
    assert.equal(new KeyOrders(log, new Map([['vehicles', ['city', 'id']]])).unknown(schema, vehicles), false, 'a configured order is known');
  });

  it('falls back to position with one warning per table', () => {
    const { log, lines } = capture();
    const k = new KeyOrders(log);
    assert.deepEqual(text(k.targetKey(schema, vehicles, del('["rome","v1"]'))), ['rome', 'v1']);
    k.targetKey(schema, vehicles, del('["paris","v2"]'));
    const warnings = lines.filter((l) => l.level === 'warn');
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.table, 'vehicles');
  });

  it('stops learning when key values contradict the row image', () => {
    const { log, lines } = capture();
    const k = new KeyOrders(log);
    k.learn(schema, vehicles, [up('["rome","v9"]', '{"city":"rome","id":"v1"}')]);
    assert.equal(k.learnedOrder(schema, vehicles), undefined);
    assert.ok(lines.some((l) => l.level === 'warn'));
  });

  it('rejects a key of the wrong length', () => {
    const k = new KeyOrders(capture().log);
    assert.throws(() => k.targetKey(schema, vehicles, del('["rome"]')), TargetSchemaError);
    assert.throws(() => k.targetKey(schema, vehicles, del('{"no":1}')), TargetSchemaError);
  });

  it('keeps INT8 keys exact', () => {
    const t: TableInfo = { ...vehicles, primaryKey: ['id'] };
    const k = new KeyOrders(capture().log);
    assert.deepEqual(text(k.targetKey(schema, t, del('[1101234051444375553]'))), ['1101234051444375553']);
  });
});
