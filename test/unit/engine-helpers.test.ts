/** Small engine helpers: the shared semaphore and deadline, and KeyOrders' name matching and caching. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Semaphore, withTimeout } from '../../src/lib/concurrency.js';
import { ZERO_HLC } from '../../src/lib/hlc.js';
import { silentLogger } from '../../src/lib/log.js';
import { KeyOrders } from '../../src/replicator/apply/key-order.js';
import { TargetSchemaError, type TableInfo } from '../../src/replicator/types.js';

const schema = { parts: ['db', 'public'], key: 'db.public' };
const col = (name: string) => ({ name, type: 'text', class: 'text' as const, nullable: false, generated: false, hasDefault: false });
const del = (key: string, before?: string) => ({ key, before, hlc: ZERO_HLC });

describe('Semaphore', () => {
  it('runs at most size at once, waiters first come first served', async () => {
    const s = new Semaphore(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const gates: (() => void)[] = [];
    const task = (i: number) =>
      s.run(async () => {
        running++;
        peak = Math.max(peak, running);
        order.push(i);
        await new Promise<void>((r) => gates.push(r));
        running--;
      });
    const all = [0, 1, 2, 3, 4].map(task);
    while (order.length < 5) {
      await new Promise((r) => setImmediate(r));
      gates.shift()?.();
    }
    gates.forEach((g) => g());
    await Promise.all(all);
    assert.equal(peak, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4]);
  });

  it('frees the slot when the task throws', async () => {
    const s = new Semaphore(1);
    await assert.rejects(s.run(() => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(await s.run(() => Promise.resolve(7)), 7);
  });
  it('an abort while waiting leaves the queue without ever running, and the slot goes to the next', async () => {
    const s = new Semaphore(1);
    let release!: () => void;
    const first = s.run(() => new Promise<void>((r) => (release = r)));
    const abort = new AbortController();
    let ranAborted = false;
    const aborted = s.run(async () => {
      ranAborted = true;
    }, abort.signal);
    const third = s.run(() => Promise.resolve('third'));
    abort.abort(new Error('caller gave up'));
    await assert.rejects(aborted, /caller gave up/);
    release();
    await first;
    assert.equal(await third, 'third');
    assert.equal(ranAborted, false);
    await assert.rejects(s.run(() => Promise.resolve(1), abort.signal), /caller gave up/, 'an already aborted signal never queues');
    assert.equal(await s.run(() => Promise.resolve(2)), 2, 'no slot leaked');
  });
});

describe('withTimeout', () => {
  it('passes the value through, or names what did not answer', async () => {
    assert.equal(await withTimeout(Promise.resolve(1), 1000, 'staging'), 1);
    await assert.rejects(withTimeout(new Promise(() => undefined), 5, 'target'), { message: 'target did not answer within 5 ms' });
  });
});

describe('KeyOrders name matching', () => {
  const table: TableInfo = { name: 'Cars', primaryKey: ['Id', 'city'], columns: [col('Id'), col('city')] };

  it('prefers the exact spelling, then a lower-case one, then the first seen', () => {
    const k = new KeyOrders(silentLogger());
    const key = (before: string) => k.targetKey(schema, table, del('["x","y"]', before)).map(String);
    assert.deepEqual(key('{"Id":"exact","id":"lower","city":"c"}'), ['exact', 'c']);
    assert.deepEqual(key('{"ID":"first","id":"lower","city":"c"}'), ['lower', 'c']);
    assert.deepEqual(key('{"ID":"first","iD":"second","CITY":"c"}'), ['first', 'c']);
  });

  it('maps configured source key columns the same way on every delete', () => {
    const k = new KeyOrders(silentLogger(), new Map([['cars', ['CITY', 'id']]]));
    for (let i = 0; i < 3; i++) assert.deepEqual(k.targetKey(schema, table, del(`["rome","v${i}"]`)).map(String), [`v${i}`, 'rome']);
    assert.throws(() => k.targetKey(schema, table, del('["rome"]')), TargetSchemaError);
  });
});
