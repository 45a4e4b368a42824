/**
 * Measures a 10k-row upsert through the Applier on live PostgreSQL and MariaDB (inserts, then the same
 * keys again as updates) and reports rows per second as test diagnostics. It asserts correctness only:
 * timing goals belong to bench/, never to tests that could fail on a slow machine.
 */
import { strict as assert } from 'node:assert';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { ZERO_HLC } from '../../src/lib/hlc.js';
import { silentLogger } from '../../src/lib/log.js';
import { Applier } from '../../src/replicator/apply/index.js';
import type { ApplyPlan } from '../../src/replicator/types.js';
import { closeLiveTargets, openLiveTargets, type LiveTarget } from '../golden/live.js';

const ROWS = 10_000;
let targets: LiveTarget[] = [];

before(async () => {
  targets = await openLiveTargets('apply_throughput');
  for (const t of targets) {
    const json = t.dialect === 'postgres' ? 'jsonb' : 'json';
    const tz = t.dialect === 'postgres' ? 'timestamptz' : 'timestamp(6) NULL';
    await t.pool.execAdmin([
      `CREATE TABLE orders (id bigint PRIMARY KEY, customer varchar(64), amount decimal(18,2), placed_at ${tz}, doc ${json}, paid boolean)`,
    ]);
  }
});
after(async () => {
  await closeLiveTargets(targets);
});

function plan(t: LiveTarget, round: number): ApplyPlan {
  const rows = Array.from({ length: ROWS }, (_, i) => {
    const id = 1_000_000_000_000_000_000n + BigInt(i);
    const after = `{"amount":${i}.${String(round).padStart(2, '0')},"customer":"customer-${i % 97}-${round}","doc":{"round":${round},"tags":["a","b"]},"id":${id},"paid":${i % 2 === 0},"placed_at":"2025-09-30T15:42:${String(i % 60).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')}123Z"}`;
    return { key: `[${id}]`, after, hlc: ZERO_HLC };
  });
  return { schema: t.schema, from: ZERO_HLC, to: ZERO_HLC, ops: [{ kind: 'upsert', table: 'orders', rows }] };
}

for (const dialect of ['postgres', 'mysql'] as const) {
  const label = dialect === 'postgres' ? 'PostgreSQL' : 'MariaDB';
  describe(`10k-row upsert on ${label}`, () => {
    it('inserts, then updates, 10,000 rows in one transaction each', async (ctx) => {
      const t = targets.find((x) => x.dialect === dialect)!;
      const applier = new Applier({ pool: t.pool, log: silentLogger(), maxRetries: 3, retryInitialBackoffMs: 10, retryMaxBackoffMs: 100, retryMultiplier: 2 });
      await applier.schema(t.schema);
      for (const [round, what] of [
        [1, 'insert'],
        [2, 'update'],
      ] as const) {
        const p = plan(t, round);
        const started = performance.now();
        const out = await applier.apply(p);
        const ms = performance.now() - started;
        assert.equal(out.counts.upserts.get('orders'), ROWS);
        ctx.diagnostic(`${label} ${what}: ${ROWS} rows in ${ms.toFixed(0)} ms = ${Math.round((ROWS / ms) * 1000)} rows/s (${out.statements} statements)`);
      }
      const info = (await t.pool.introspect(t.schema))!;
      const first = await t.pool.readRows(info.schema, info.tables.get('orders')!, { limit: 1 });
      assert.deepEqual(first[0]!.slice(0, 3), ['1000000000000000000', 'customer-0-2', '0.02']);
    });
  });
}
