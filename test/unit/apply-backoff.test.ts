/** Exponential backoff with jitter, and the abortable sleep. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { backoffDelay, sleep } from '../../src/replicator/apply/backoff.js';

describe('backoff', () => {
  const policy = { initialMs: 100, maxMs: 1000, multiplier: 2 };
  it('doubles up to the cap, with jitter between half and all of it', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(policy, n, () => 1)),
      [100, 200, 400, 800, 1000, 1000],
    );
    assert.deepEqual(
      [1, 2, 3].map((n) => backoffDelay(policy, n, () => 0)),
      [50, 100, 200],
    );
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(policy, 3);
      assert.ok(d >= 200 && d <= 400, String(d));
    }
  });
  it('survives silly settings', () => {
    assert.equal(backoffDelay({ initialMs: 100, maxMs: 1000, multiplier: 0 }, 5, () => 1), 100);
    assert.equal(backoffDelay({ initialMs: 100, maxMs: 1000, multiplier: 10 }, 1000, () => 1), 1000);
  });
  it('sleep ends early with the abort reason', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const p = sleep(10_000, ac.signal);
    setTimeout(() => ac.abort(new Error('stop')), 20);
    await assert.rejects(p, /stop/);
    assert.ok(Date.now() - started < 2000);
    await assert.rejects(sleep(10, AbortSignal.abort(new Error('already'))), /already/);
    await sleep(5);
  });
});
