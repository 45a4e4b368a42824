/**
 * A delete arrives with only its key (no before image, no --sourceKeyColumns) for a table whose target
 * primary key lists the columns in another order than the source. The order learned from an earlier
 * upsert is remembered in staging, so an engine started later (a restart, or another instance taking
 * over) still deletes the right row instead of mapping the key by position.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.js';
import { post, startTestEngine, waitApplied, type RunningEngine } from './engine-support.js';

let staging: TestDatabase;
let target: TestDatabase;
let tgt: pg.Client;
const engines: RunningEngine[] = [];

before(async () => {
  staging = await createPgDatabase('engine_keyorder_stg');
  target = await createPgDatabase('engine_keyorder_tgt');
  tgt = new pg.Client({ connectionString: target.url });
  await tgt.connect();
  // The source (CockroachDB) key is (a, b); the target declares it as (b, a).
  await tgt.query('CREATE TABLE pairs (a INT8, b INT8, v TEXT, PRIMARY KEY (b, a))');
});

after(async () => {
  for (const e of engines) await e.stop().catch(() => undefined);
  await tgt?.end();
  await target?.drop();
  await staging?.drop();
});

const path = () => `/${target.name}/public`;
const schemaKey = () => `${target.name}.public`;
let tick = 0n;
const nextHlc = () => `${1820000000000000000n + ++tick * 1_000_000n}.0000000000`;
const row = (a: number, b: number, at: string, v: string | null) =>
  `{"after":${v === null ? 'null' : `{"a":${a},"b":${b},"v":"${v}"}`},"key":[${a},${b}],"topic":"pairs","updated":"${at}"}`;
const batch = (...rows: string[]) => `{"payload":[${rows.join(',')}],"length":${rows.length}}`;

async function engine(): Promise<RunningEngine> {
  const e = await startTestEngine({ targetConn: target.url, stagingConn: staging.url, stagingSchema: `${staging.name}.kord`, stagingCreateSchema: true, disableAuthentication: true });
  engines.push(e);
  return e;
}

async function send(e: RunningEngine, body: string, at: string): Promise<void> {
  for (const b of [body, `{"resolved":"${at}"}`]) {
    const r = await post(e.engine.webhookUrl, path(), b);
    assert.equal(r.status, 200, r.body);
  }
  await waitApplied(e.engine.diagUrl, schemaKey(), at);
}

test('a key order learned before a restart maps a key-only delete after it', async () => {
  const first = await engine();
  // (a=1, b=2) and (a=2, b=1): deleting by position would remove the wrong one of the pair.
  const t1 = nextHlc();
  await send(first, batch(row(1, 2, t1, 'keep?'), row(2, 1, t1, 'keep')), t1);
  await first.stop();

  const second = await engine();
  const t2 = nextHlc();
  await send(second, batch(row(1, 2, t2, null)), t2);
  const left = (await tgt.query<{ a: string; b: string; v: string }>('SELECT a, b, v FROM pairs ORDER BY a, b')).rows;
  assert.deepEqual(left, [{ a: '2', b: '1', v: 'keep' }], 'the row the changefeed deleted (a=1, b=2) is gone, its mirror image stays');
  assert.ok(!second.logs.some((l) => /deleting by key position/.test(l)), 'no positional fallback');
});
