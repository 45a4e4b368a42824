// Smoke test of the CockroachDB emulator over embedded PGlite (no PostgreSQL URL): psql-compatible
// wire protocol, emulated statements and a webhook changefeed. PGlite's cold start takes seconds;
// one emulator serves the whole file.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startCrdbEmulator, type CrdbEmulator } from '../../src/sandbox/crdb/index.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

let emu: CrdbEmulator;
let rcv: WebhookReceiver;
let pool: pg.Pool;

before(async () => {
  rcv = await startWebhookReceiver();
  emu = await startCrdbEmulator({ capturePollMs: 20 });
  pool = new pg.Pool({ connectionString: emu.url, max: 4 });
});

after(async () => {
  await pool?.end();
  await emu?.stop();
  await rcv?.close();
});

test('over embedded PGlite: concurrent clients, extended protocol, settings and a webhook changefeed', async () => {
  assert.match(emu.backendUrl, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres/);
  const v = (await pool.query('SELECT version()')).rows[0].version as string;
  assert.match(v, /^CockroachDB CCL v25\.4\.\d+ .*embedded PGlite/);
  await pool.query('SET CLUSTER SETTING kv.rangefeed.enabled = true');
  await pool.query('CREATE TABLE t (id INT8 PRIMARY KEY, v text, amount DECIMAL)');
  const id = (
    await pool.query(`CREATE CHANGEFEED FOR TABLE t INTO $1 WITH updated, resolved = '100ms', min_checkpoint_frequency = '100ms'`, [rcv.sinkUri('/db/schema')])
  ).rows[0].job_id as string;
  // Parameterised statements from several pooled connections: the gate keeps each batch whole.
  await Promise.all(
    Array.from({ length: 12 }, (_, i) => pool.query('INSERT INTO t VALUES ($1, $2, $3)', [i === 0 ? '1101234051444375553' : i, `v${i}`, `${i}.10`])),
  );
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('UPDATE t SET v = $1 WHERE id = $2', ['updated', 1]);
    await client.query('DELETE FROM t WHERE id = $1', [2]);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  await rcv.waitFor(() => rcv.messages().filter((m) => m.acked).length >= 14, 30_000, 'all changes');
  const got = rcv.messages().filter((m) => m.acked);
  assert.ok(got.some((m) => m.key[0] === 1101234051444375553n));
  const upd = got.find((m) => m.after?.v === 'updated');
  const del = got.find((m) => m.after === null);
  assert.ok(upd && del && upd.updated === del.updated, 'one HLC for the transaction');
  await rcv.waitFor(() => rcv.resolved().length > 0, 10_000, 'a resolved timestamp');
  const j = (await pool.query('SELECT status, running_status FROM [SHOW CHANGEFEED JOB $1]', [id])).rows[0];
  assert.equal(j.status, 'running');
  await pool.query(`CANCEL JOB ${id}`);
});
