/**
 * Delivery faults on every side of the webhook while a seeded workload runs, and the real PostgreSQL
 * and MariaDB targets still converge to CockroachDB:
 *  - the emulator's fault injection: batches delivered twice, feeds restarted from their checkpoint
 *    every few seconds (re-sending), messages of different keys reordered inside a batch, a small delay;
 *  - receiver 500s from a proxy between the changefeed and the engine (test/helpers/fault-proxy.ts),
 *    half before the engine saw the request and half after it staged it.
 * The engine listens on 127.0.0.2 and the proxy on 127.0.0.1 at the same port, so the changefeed the
 * wizard creates (webhook-https://localhost:<port>/...) goes through the proxy unchanged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TlsOutputs } from '../../src/steps/lib/outputs.js';
import { scrapeEngine } from '../../src/steps/observe.js';
import { describeRun, parseJson } from '../helpers/cli.js';
import { startFailbackBed, type FailbackBed } from '../helpers/failback-bed.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';

for (const target of ['postgres', 'mariadb'] as const) {
  describe(`faults with a ${target === 'postgres' ? 'PostgreSQL' : 'MariaDB'} target`, () => {
    let bed: FailbackBed;
    let proxy: FaultProxy | undefined;

    before(async () => {
      bed = await startFailbackBed({ prefix: `fb_faults_${target === 'postgres' ? 'pg' : 'my'}`, target, seed: 5005, bindHost: '127.0.0.2' });
    });
    after(async () => {
      await proxy?.close();
      await bed?.close();
    });

    async function counter(names: readonly string[]): Promise<number> {
      const res = await fetch(`${bed.metricsBase}/_/varz`);
      const text = await res.text();
      let total = 0;
      for (const line of text.split('\n')) {
        const name = line.split(/[{ ]/)[0] as string;
        if (names.includes(name)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return total;
    }

    test('duplicates, restarts with re-sends, reordering and receiver 500s: the target still converges', async (t) => {
      // The certificates exist once prepare-tls has run; the proxy needs them before the changefeed exists.
      const tlsPart = await bed.run(['--to', 'prepare-tls']);
      assert.equal(tlsPart.code, 0, describeRun(tlsPart));
      const tls = TlsOutputs.parse(bed.state().steps['prepare-tls']?.outputs);
      proxy = await startFaultProxy({
        listen: { host: '127.0.0.1', port: bed.bindPort },
        upstream: { host: '127.0.0.2', port: bed.bindPort },
        tls: { serverCert: tls.serverCert, serverKey: tls.serverKey, caCert: tls.caCert as string, clientCert: tls.clientCert as string, clientKey: tls.clientKey as string },
        rate: 0,
        seed: 5005,
      });
      const rest = await bed.run();
      assert.equal(rest.code, 0, describeRun(rest));
      const before = await scrapeEngine(`${bed.metricsBase}/_/varz`);

      bed.world.emu.setFaults({ duplicateRate: 0.25, restartEveryMs: 2500, reorderAcrossKeys: true, delayMs: 5 });
      proxy.setRate(0.3);
      const stats = await bed.workload({ transactions: 300, rate: 50 });
      assert.equal(stats.transactions, 300);
      // Converge with every fault still on.
      await bed.catchUp(180_000);
      bed.world.emu.setFaults({});
      proxy.setRate(0);

      const v = await bed.verify();
      assert.equal(v.code, 0, describeRun(v));
      assert.equal(parseJson<{ verdict: string }>(v).verdict, 'equal');

      // The faults really happened: 500s on both sides of the engine, and rows it saw more than once.
      t.diagnostic(`proxy: ${JSON.stringify(proxy.stats)}`);
      assert.ok(proxy.stats.failedBefore > 0 && proxy.stats.failedAfter > 0, JSON.stringify(proxy.stats));
      const again = (await counter(['stage_duplicate_mutations_total', 'failback_stage_dropped_below_checkpoint_total'])) as number;
      t.diagnostic(`re-sent rows seen by the engine: ${again}`);
      assert.ok(again > 0, 'the engine received rows it already had');
      const after = await scrapeEngine(`${bed.metricsBase}/_/varz`);
      assert.ok(after.http200 > before.http200);
      assert.equal(bed.enginePids().length, 1);
      assert.equal((await bed.jobs()).length, 1);
    });
  });
}
