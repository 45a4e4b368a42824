/**
 * The webhook handler's in-flight byte bound across a staging write that outlives its answer: the 503
 * goes out at the deadline, but the body's bytes stay counted until the write has really ended, so a
 * slow staging database cannot make the engine hold more than the bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/lib/log.js';
import { dialectByName } from '../../src/replicator/dialects/index.js';
import { EngineMetrics } from '../../src/replicator/metrics.js';
import { TokenAuth } from '../../src/replicator/sink/auth.js';
import { createSinkHandler } from '../../src/replicator/sink/handler.js';
import type { IngestResult } from '../../src/replicator/sink/ingest.js';

const body = (from: number) => {
  const msgs = Array.from({ length: 5 }, (_, i) => `{"after":{"id":${from + i},"v":"${'x'.repeat(60)}"},"key":[${from + i}],"topic":"t","updated":"1810000000000000000.0000000000"}`);
  return `{"payload":[${msgs.join(',')}],"length":${msgs.length}}`;
};

test('a timed-out staging write keeps its bytes in flight until it settles; later bodies wait for them', async (t) => {
  let finishSlowWrite!: () => void;
  const settling = new Promise<void>((r) => (finishSlowWrite = r));
  const reached: number[] = [];
  const ingest = {
    async rows(_schema: unknown, mutations: readonly unknown[]): Promise<IngestResult> {
      reached.push(mutations.length);
      if (reached.length === 1) return { status: 503, body: 'staging unavailable, retry later', outcome: 'unavailable', rows: 0, retryAfter: 2, settling };
      return { status: 200, body: 'OK', outcome: 'staged', rows: mutations.length };
    },
    async resolved(): Promise<IngestResult> {
      return { status: 200, body: 'OK', outcome: 'resolved', rows: 0 };
    },
    async empty(): Promise<IngestResult> {
      return { status: 200, body: 'OK', outcome: 'empty', rows: 0 };
    },
  };
  const first = body(1);
  const handler = createSinkHandler({
    dialect: dialectByName('postgres'),
    auth: new TokenAuth(undefined, silentLogger()),
    ingest,
    metrics: new EngineMetrics(new Registry(), { version: 'test' }),
    log: silentLogger(),
    verbose: 0,
    maxBodyBytes: 64 * 1024,
    // Room for one body at a time.
    maxInflightBytes: Buffer.byteLength(first) + 10,
    inflightWaitMs: 300,
  });
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/db/public`;
  const post = async (text: string) => {
    const res = await fetch(url, { method: 'POST', body: text, headers: { 'content-type': 'application/json' } });
    return { status: res.status, text: await res.text() };
  };

  const slow = await post(first);
  assert.equal(slow.status, 503);
  const blocked = await post(body(6));
  assert.equal(blocked.status, 503);
  assert.match(blocked.text, /too many request bodies in flight/);
  assert.deepEqual(reached, [5], 'the second body was turned away before ingest: the first one still holds the bytes');

  finishSlowWrite();
  await settling;
  const after = await post(body(6));
  assert.equal(after.status, 200, after.text);
  assert.deepEqual(reached, [5, 5]);
});
