// Integration tests of the CockroachDB emulator's changefeeds: real PostgreSQL backend, real HTTPS
// receiver (test/helpers/webhook-receiver.ts). Covers the webhook wire format (fixtures F1-F5),
// one HLC per transaction, per-key order, resolved timestamps, retries and restarts, transient
// error texts, pause/resume, initial scans, fault injection and restarts of the emulator itself.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import pg from 'pg';
import { startCrdbEmulator, type CrdbEmulator } from '../../src/sandbox/crdb/index.js';
import { parseRawJson, rawToPlain, RawNumber, RawObject } from '../../src/sandbox/crdb/util/raw-json.js';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.js';
import { startWebhookReceiver, type ReceivedMessage, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const TOKEN = 'test-token-123';
let db: TestDatabase;
let emu: CrdbEmulator;
let rcv: WebhookReceiver;
let client: pg.Client;
const extraClients: pg.Client[] = [];

before(async () => {
  db = await createPgDatabase('crdb_emulator_feeds');
  rcv = await startWebhookReceiver({ token: TOKEN, requireClientCert: true });
  emu = await startCrdbEmulator({ backend: { url: db.url }, capturePollMs: 20 });
  client = new pg.Client({ connectionString: emu.url });
  await client.connect();
  await client.query('SET CLUSTER SETTING kv.rangefeed.enabled = true');
});

after(async () => {
  for (const c of extraClients) await c.end().catch(() => undefined); // already ended unless a test failed
  await client?.end();
  await emu?.stop();
  await rcv?.close();
  await db?.drop();
});

const hlc = (s: string): [bigint, bigint] => s.split('.').map(BigInt) as [bigint, bigint];
const cmp = (a: string, b: string) => {
  const [aw, al] = hlc(a);
  const [bw, bl] = hlc(b);
  return aw !== bw ? (aw < bw ? -1 : 1) : al === bl ? 0 : al < bl ? -1 : 1;
};
const msgs = (path: string) => rcv.messages().filter((m) => m.path === path);
const resolvedOf = (path: string) => rcv.resolved().filter((r) => r.path === path);
const keyOf = (m: ReceivedMessage) => `${m.topic}:${JSON.stringify(m.key, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`;
const plainRow = (text: string) => rawToPlain(parseRawJson(text));

async function createFeed(sql: string, params: unknown[] = []): Promise<string> {
  const r = await client.query(sql, params);
  return r.rows[0].job_id as string;
}
async function job(id: string) {
  return (await client.query('SELECT status, running_status, high_water_timestamp, error FROM [SHOW CHANGEFEED JOB $1]', [id])).rows[0] as {
    status: string;
    running_status: string | null;
    high_water_timestamp: string | null;
  };
}
async function waitJob(id: string, pred: (j: Awaited<ReturnType<typeof job>>) => boolean, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const j = await job(id);
    if (pred(j)) return j;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; job is ${JSON.stringify(j)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
async function clt(): Promise<string> {
  return (await client.query('SELECT cluster_logical_timestamp() AS t')).rows[0].t as string;
}
async function tableState(table: string, key: string[]): Promise<Map<string, unknown>> {
  const rows = (await client.query(`SELECT row_to_json(t)::text AS j FROM ${table} t`)).rows as Array<{ j: string }>;
  const out = new Map<string, unknown>();
  for (const r of rows) {
    const v = plainRow(r.j) as Record<string, unknown>;
    out.set(`${table}:${JSON.stringify(key.map((k) => v[k]), (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))}`, v);
  }
  return out;
}
/** Replays messages like an idempotent receiver: per key, the newest `updated` wins. */
function replay(ms: ReceivedMessage[], topic: string): Map<string, unknown> {
  const latest = new Map<string, ReceivedMessage>();
  for (const m of ms.filter((x) => x.topic === topic)) {
    const k = keyOf(m);
    const cur = latest.get(k);
    if (!cur || cmp(m.updated as string, cur.updated as string) >= 0) latest.set(k, m);
  }
  const out = new Map<string, unknown>();
  for (const [k, m] of latest) if (m.after !== null) out.set(k, m.after);
  return out;
}

test('a concurrent insert/update/delete workload arrives in CockroachDB webhook format, exact and in order', async () => {
  const path = '/migration_db/migration_schema';
  await client.query(`
    CREATE TABLE employees (id INT8 PRIMARY KEY, name text, office text, tx text);
    CREATE TABLE payments (id uuid PRIMARY KEY, employee_id INT8 REFERENCES employees (id), amount DECIMAL(12, 2), paid_at timestamptz, tx text);
    CREATE TABLE vehicles (city text, id uuid, ext jsonb, owner_id uuid, status text, tx text, PRIMARY KEY (city, id));
    INSERT INTO employees VALUES (900, 'before the cursor', 'x', 'pre');`);
  const cursor = await clt();
  // Committed between the cursor and CREATE CHANGEFEED: must be delivered.
  await client.query(`BEGIN;
    INSERT INTO employees VALUES (1, 'Terry', 'new york city', 'between'), (1101234051444375553, 'Big', 'rome', 'between');
    INSERT INTO payments VALUES ('8d6d2c1e-6a0b-4f6e-9a57-0f8a3f2f1b44', 1101234051444375553, 125.50, '2025-09-30T15:42:02.007Z', 'between');
    COMMIT`);
  await client.query("BEGIN; INSERT INTO employees VALUES (77, 'rolled back', 'nowhere', 'rb-0'); ROLLBACK");

  const id = await createFeed(
    `CREATE CHANGEFEED FOR TABLE employees, payments, vehicles INTO $1
     WITH updated, diff, resolved = '100ms', min_checkpoint_frequency = '100ms', cursor = $2,
          webhook_auth_header = $3, webhook_client_timeout = '10s', webhook_sink_config = '{"Flush":{"Messages":5,"Frequency":"50ms"}}'`,
    [rcv.sinkUri(path, { clientCert: true }), cursor, `Bearer ${TOKEN}`],
  );

  // Four clients, interleaved transactions on overlapping keys; some roll back.
  const workers = await Promise.all(
    [0, 1, 2, 3].map(async () => {
      const c = new pg.Client({ connectionString: emu.url });
      c.on('error', () => undefined); // a connection cut by the emulator's restart is not a test failure
      await c.connect();
      extraClients.push(c);
      return c;
    }),
  );
  await Promise.all(
    workers.map(async (c, w) => {
      for (let t = 0; t < 12; t++) {
        const tx = `w${w}-t${t}`;
        const mine = 10 + w * 100 + (t % 4);
        await c.query('BEGIN');
        await c.query('INSERT INTO employees VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, tx = EXCLUDED.tx', [mine, `n-${tx}`, `office-${w}`, tx]);
        await c.query('UPDATE employees SET name = $1, tx = $2 WHERE id = 1', [`terry-${tx}`, tx]); // contended key
        if (t % 3 === 1) await c.query('DELETE FROM employees WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM payments WHERE employee_id = $1)', [10 + w * 100 + ((t + 2) % 4)]);
        if (t % 4 === 2) {
          await c.query('INSERT INTO payments VALUES (gen_random_uuid(), $1, $2, now(), $3)', [mine, `${w}${t}.05`, tx]);
        }
        await c.query(
          'INSERT INTO vehicles VALUES ($1, $2, $3, NULL, $4, $5) ON CONFLICT (city, id) DO UPDATE SET status = EXCLUDED.status, ext = EXCLUDED.ext, tx = EXCLUDED.tx',
          [w % 2 ? 'rome' : 'paris', `00000000-0000-4000-8000-00000000000${t % 3}`, `{"brand": "Schwinn", "n": ${t}, "big": 9007199254740993}`, `s-${tx}`, tx],
        );
        if (t % 5 === 4) await c.query('ROLLBACK');
        else await c.query('COMMIT');
      }
    }),
  );
  for (const c of workers) await c.end();
  await client.query("DELETE FROM vehicles WHERE city = 'paris' AND id = '00000000-0000-4000-8000-000000000001'");
  const end = await clt();
  await rcv.waitFor(() => resolvedOf(path).some((r) => r.acked && cmp(r.value, end) >= 0), 30_000, 'a resolved timestamp above the workload');

  const all = msgs(path);
  const acked = all.filter((m) => m.acked);
  assert.ok(acked.length > 40, `${acked.length} messages`);
  // Only committed changes after the cursor arrive.
  assert.ok(!all.some((m) => (m.after?.tx ?? m.before?.tx) === 'pre' && m.after !== null && (m.after.tx as string) === 'pre'), 'nothing from before the cursor');
  assert.ok(!all.some((m) => String(m.after?.tx ?? '').endsWith('-t4') || String(m.after?.tx ?? '').endsWith('-t9') || m.after?.tx === 'rb-0'), 'rolled-back transactions never arrive');
  assert.ok(acked.some((m) => m.after?.tx === 'between' && m.topic === 'employees'), 'changes between cursor and CREATE arrive');

  // Wire format (fixtures F1-F5): field order, length, topics, composite keys, deletes, exact numbers.
  const rowsRequests = rcv.requests.filter((r) => r.path === path && r.kind === 'rows');
  for (const r of rowsRequests) {
    const payload = (r.json as RawObject).get('payload') as unknown[];
    assert.equal(((r.json as RawObject).get('length') as RawNumber).text, String(payload.length));
    assert.ok(payload.length <= 5, 'Flush.Messages bounds a batch');
    assert.deepEqual((r.json as RawObject).entries.map(([k]) => k), ['payload', 'length']);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(r.clientCertCn, 'changefeed-client');
    assert.doesNotMatch(r.rawBody, /\s"|":\s|,\s"/, 'compact JSON');
    assert.doesNotMatch(r.url, /ca_cert|client_cert|client_key/, 'TLS parameters are not sent');
  }
  for (const m of all) assert.deepEqual(m.fields, ['after', 'before', 'key', 'topic', 'updated']);
  const big = acked.find((m) => m.topic === 'employees' && m.key[0] === 1101234051444375553n);
  assert.ok(big, 'INT8 above 2^53 arrives exactly');
  assert.ok(((big.raw.get('key') as unknown[])[0] as RawNumber) instanceof RawNumber);
  const pay = acked.find((m) => m.topic === 'payments' && m.after?.tx === 'between');
  assert.ok(pay);
  const amount = (pay.raw.get('after') as RawObject).get('amount');
  assert.ok(amount instanceof RawNumber && amount.text === '125.50', 'DECIMAL is an exact JSON number');
  assert.equal(pay.after?.employee_id, 1101234051444375553n);
  assert.equal(pay.after?.paid_at, '2025-09-30T15:42:02.007+00:00');
  const veh = acked.find((m) => m.topic === 'vehicles');
  assert.ok(veh && veh.key.length === 2 && typeof veh.key[0] === 'string', 'composite key in PK order');
  assert.equal((veh.after?.ext as Record<string, unknown>).big, 9007199254740993n, 'JSONB values keep their precision');
  assert.equal(veh.after?.owner_id, null);
  const del = acked.find((m) => m.topic === 'vehicles' && m.after === null);
  assert.ok(del && del.before !== null && (del.before as Record<string, unknown>).city === 'paris', 'a delete has after:null and the before image');
  const insert = acked.find((m) => m.topic === 'employees' && m.before === null);
  assert.ok(insert, 'an insert has before:null with diff');

  // One HLC per transaction, distinct across transactions.
  const byTx = new Map<string, Set<string>>();
  for (const m of acked) {
    const tx = (m.after?.tx ?? (m.before as Record<string, unknown> | null)?.tx) as string;
    if (!m.after) continue;
    if (!byTx.has(tx)) byTx.set(tx, new Set());
    byTx.get(tx)?.add(m.updated as string);
  }
  for (const [tx, ts] of byTx) assert.equal(ts.size, 1, `transaction ${tx} has one timestamp: ${[...ts].join(', ')}`);
  const txOfTs = new Map<string, string>();
  for (const [tx, ts] of byTx) {
    const t = [...ts][0] as string;
    assert.ok(!txOfTs.has(t) || txOfTs.get(t) === tx, `transactions ${tx} and ${txOfTs.get(t)} share ${t}`);
    txOfTs.set(t, tx);
  }

  // Per-key order: the first delivery of each version comes in timestamp order.
  const seen = new Set<string>();
  const lastByKey = new Map<string, string>();
  for (const m of all) {
    const v = `${keyOf(m)}@${m.updated}`;
    if (seen.has(v)) continue;
    seen.add(v);
    const prev = lastByKey.get(keyOf(m));
    if (prev) assert.ok(cmp(m.updated as string, prev) > 0, `per-key order for ${keyOf(m)}: ${m.updated} after ${prev}`);
    lastByKey.set(keyOf(m), m.updated as string);
  }

  // Resolved: strictly increasing, and only after every row at or below it was acknowledged.
  const res = resolvedOf(path).filter((r) => r.acked);
  for (let i = 1; i < res.length; i++) assert.ok(cmp((res[i] as { value: string }).value, (res[i - 1] as { value: string }).value) > 0, 'resolved never goes backwards');
  for (const r of res) {
    for (const m of all) {
      if (cmp(m.updated as string, r.value) > 0) continue;
      const firstAck = all.find((x) => x.acked && keyOf(x) === keyOf(m) && x.updated === m.updated);
      assert.ok(firstAck && firstAck.request < r.request, `row ${keyOf(m)}@${m.updated} acknowledged before resolved ${r.value}`);
    }
  }
  assert.ok(res.every((r) => cmp(r.value, cursor) > 0));

  // The receiver can rebuild exactly the source tables.
  assert.deepEqual(replay(acked, 'employees'), new Map([...(await tableState('employees', ['id']))].filter(([, v]) => (v as { tx: string }).tx !== 'pre')));
  assert.deepEqual(replay(acked, 'payments'), await tableState('payments', ['id']));
  assert.deepEqual(replay(acked, 'vehicles'), await tableState('vehicles', ['city', 'id']));

  const j = await waitJob(id, (x) => x.running_status?.startsWith('running: resolved=') ?? false, 'a healthy running_status');
  assert.equal(j.status, 'running');
  assert.match(j.running_status as string, /^running: resolved=\d{10}\.\d{9},\d+$/);
  assert.match(j.high_water_timestamp as string, /^\d{19}\.\d{10}$/);
  await client.query(`CANCEL JOB ${id}`);
});

test('a 500 is retried per Retry.Max, then the feed restarts from its checkpoint and re-sends', async () => {
  const path = '/retry_db/retry_schema';
  await client.query('CREATE TABLE flaky (id int PRIMARY KEY, v text)');
  const id = await createFeed(
    `CREATE CHANGEFEED FOR TABLE flaky INTO $1 WITH updated, resolved = '50ms', min_checkpoint_frequency = '3s',
       webhook_auth_header = $2, webhook_sink_config = '{"Retry":{"Max":2,"Backoff":"20ms"}}'`,
    [rcv.sinkUri(path, { clientCert: true }), `Bearer ${TOKEN}`],
  );
  await client.query("INSERT INTO flaky VALUES (1, 'a'), (2, 'b')");
  await rcv.waitFor(() => msgs(path).filter((m) => m.acked).length >= 2, 10_000, 'the first rows');
  const before = rcv.requests.length;
  rcv.respond((req) => (req.path === path ? { status: 500, body: 'boom\n' } : undefined));
  await client.query("INSERT INTO flaky VALUES (3, 'c')");
  const j = await waitJob(id, (x) => x.running_status?.startsWith('transient error') ?? false, 'a transient error');
  assert.equal(j.status, 'running');
  assert.equal(j.running_status, 'transient error: 500 Internal Server Error: boom');
  const failed = rcv.requests.slice(before).filter((r) => r.path === path && r.status === 500);
  const firstBody = failed[0]?.rawBody;
  assert.ok(failed.filter((r) => r.rawBody === firstBody).length >= 3, 'the batch was tried 1 + Retry.Max times');
  rcv.respond(undefined);
  await rcv.waitFor(() => msgs(path).some((m) => m.acked && m.key[0] === 3n), 15_000, 'row 3 after recovery');
  // At-least-once: rows already acknowledged since the last checkpoint were sent again.
  await rcv.waitFor(() => msgs(path).filter((m) => m.acked && m.key[0] === 1n).length >= 2, 15_000, 'a re-send of row 1');
  await waitJob(id, (x) => x.running_status?.startsWith('running: resolved=') ?? false, 'recovery of running_status', 15_000);
  await client.query(`CANCEL JOB ${id}`);
});

test('connection refused and client timeouts show CockroachDB transient error texts; high-water stays', async () => {
  await client.query('CREATE TABLE unreachable (id int PRIMARY KEY)');
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const refused = await createFeed(
    `CREATE CHANGEFEED FOR TABLE unreachable INTO 'webhook-https://127.0.0.1:${port}/migration_db/migration_schema?insecure_tls_skip_verify=true'
     WITH initial_scan = 'no', resolved = '50ms', min_checkpoint_frequency = '50ms', webhook_sink_config = '{"Retry":{"Max":1,"Backoff":"10ms"}}'`,
  );
  const hw0 = (await job(refused)).high_water_timestamp;
  const j = await waitJob(refused, (x) => x.running_status?.startsWith('transient error') ?? false, 'connection refused');
  assert.equal(j.running_status, `transient error: Post "https://127.0.0.1:${port}/migration_db/migration_schema": dial tcp 127.0.0.1:${port}: connect: connection refused`);
  assert.equal(j.high_water_timestamp, hw0, 'high_water_timestamp does not move while the sink is down');
  await client.query(`CANCEL JOB ${refused}`);

  const slowPath = '/slow_db/slow_schema';
  rcv.respond((req) => (req.path === slowPath ? { status: 200, delayMs: 1500 } : undefined));
  const slow = await createFeed(
    `CREATE CHANGEFEED FOR TABLE unreachable INTO $1 WITH resolved = '50ms', min_checkpoint_frequency = '50ms', webhook_client_timeout = '200ms',
       webhook_auth_header = $2, webhook_sink_config = '{"Retry":{"Max":1,"Backoff":"10ms"}}'`,
    [rcv.sinkUri(slowPath, { clientCert: true }), `Bearer ${TOKEN}`],
  );
  const t = await waitJob(slow, (x) => x.running_status?.startsWith('transient error') ?? false, 'a client timeout');
  assert.equal(t.running_status, `transient error: Post "https://127.0.0.1:${rcv.port}${slowPath}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`);
  rcv.respond(undefined);
  await client.query(`CANCEL JOB ${slow}`);
});

test('PAUSE stops delivery, RESUME continues from the checkpoint, CANCEL ends the feed', async () => {
  const path = '/pause_db/pause_schema';
  await client.query('CREATE TABLE pausable (id int PRIMARY KEY, v text)');
  const id = await createFeed(
    `CREATE CHANGEFEED FOR TABLE pausable INTO $1 WITH updated, resolved = '50ms', min_checkpoint_frequency = '50ms', webhook_auth_header = $2`,
    [rcv.sinkUri(path, { clientCert: true }), `Bearer ${TOKEN}`],
  );
  await client.query("INSERT INTO pausable VALUES (1, 'one')");
  await rcv.waitFor(() => msgs(path).some((m) => m.acked), 10_000, 'first row');
  await client.query(`PAUSE JOB ${id}`);
  await waitJob(id, (x) => x.status === 'paused', 'paused');
  const count = rcv.requests.filter((r) => r.path === path).length;
  await client.query("INSERT INTO pausable VALUES (2, 'two'); UPDATE pausable SET v = 'uno' WHERE id = 1");
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(rcv.requests.filter((r) => r.path === path).length, count, 'nothing is sent while paused');
  await client.query(`RESUME JOB ${id}`);
  await rcv.waitFor(() => msgs(path).some((m) => m.after?.v === 'uno') && msgs(path).some((m) => m.key[0] === 2n), 10_000, 'changes made while paused');
  await client.query(`CANCEL JOB ${id}`);
  await waitJob(id, (x) => x.status === 'canceled', 'canceled');
  await client.query(`CANCEL JOB ${id}`);
  const n = rcv.requests.filter((r) => r.path === path).length;
  await client.query("INSERT INTO pausable VALUES (3, 'three')");
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(rcv.requests.filter((r) => r.path === path).length, n, 'a canceled feed sends nothing');
});

test('initial_scan at the cursor time emits the rows as they were then, then the later changes (F1, F3 shapes)', async () => {
  const path = '/scan_db/scan_schema';
  await client.query("CREATE TABLE scanned (id int PRIMARY KEY, v text); INSERT INTO scanned VALUES (1, 'a0'), (2, 'b0')");
  const cursor = await clt();
  await client.query("UPDATE scanned SET v = 'a1' WHERE id = 1; DELETE FROM scanned WHERE id = 2; INSERT INTO scanned VALUES (3, 'c0')");
  const id = await createFeed(`CREATE CHANGEFEED FOR TABLE scanned INTO $1 WITH updated, cursor = $2, initial_scan = 'yes', min_checkpoint_frequency = '50ms', webhook_auth_header = $3`, [
    rcv.sinkUri(path, { clientCert: true }),
    cursor,
    `Bearer ${TOKEN}`,
  ]);
  await rcv.waitFor(() => msgs(path).filter((m) => m.acked).length >= 5, 10_000, 'scan and changes');
  const got = msgs(path).filter((m) => m.acked);
  const scan = got.filter((m) => m.updated === cursor).map((m) => [m.key[0], m.after?.v]);
  assert.deepEqual(scan.sort(), [[1n, 'a0'], [2n, 'b0']]);
  const later = got.filter((m) => m.updated !== cursor);
  assert.ok(later.every((m) => cmp(m.updated as string, cursor) > 0));
  assert.deepEqual(later.map((m) => [m.key[0], m.after === null ? null : m.after.v]).sort(), [[1n, 'a1'], [2n, null], [3n, 'c0']].sort());
  for (const m of got) assert.deepEqual(m.fields, ['after', 'key', 'topic', 'updated']);
  const deleted = later.find((m) => m.after === null);
  assert.equal(deleted?.raw && JSON.stringify(rawToPlain(deleted.raw), (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)), JSON.stringify({ after: null, key: [2], topic: 'scanned', updated: deleted?.updated }));
  await client.query(`CANCEL JOB ${id}`);

  // initial_scan = 'only' delivers the table and then succeeds.
  const onlyPath = '/scan_db/only';
  const only = await createFeed(`CREATE CHANGEFEED FOR TABLE scanned INTO $1 WITH initial_scan = 'only', webhook_auth_header = $2`, [rcv.sinkUri(onlyPath, { clientCert: true }), `Bearer ${TOKEN}`]);
  await waitJob(only, (x) => x.status === 'succeeded', 'initial_scan only to succeed');
  assert.deepEqual(msgs(onlyPath).map((m) => m.key[0]).sort(), [1n, 3n]);
});

test('fault injection: duplicates, reordering across keys, delays and forced restarts keep at-least-once and per-key order', async () => {
  const path = '/faults_db/faults_schema';
  await client.query('CREATE TABLE faulty (id int PRIMARY KEY, v int)');
  const id = await createFeed(
    `CREATE CHANGEFEED FOR TABLE faulty INTO $1 WITH updated, resolved = '50ms', min_checkpoint_frequency = '200ms', webhook_auth_header = $2,
       webhook_sink_config = '{"Flush":{"Messages":20,"Frequency":"30ms"}}'`,
    [rcv.sinkUri(path, { clientCert: true }), `Bearer ${TOKEN}`],
  );
  emu.setFaults({ duplicateRate: 1, reorderAcrossKeys: true, delayMs: 5 });
  for (let round = 0; round < 5; round++) {
    const values = Array.from({ length: 8 }, (_, k) => `(${k}, ${round})`).join(', ');
    await client.query(`INSERT INTO faulty VALUES ${values} ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v`);
    if (round === 2) emu.restartFeed(id);
  }
  const end = await clt();
  await rcv.waitFor(() => resolvedOf(path).some((r) => r.acked && cmp(r.value, end) >= 0), 20_000, 'resolved after the rounds');
  emu.setFaults({});
  const got = msgs(path);
  const bodies = rcv.requests.filter((r) => r.path === path && r.kind === 'rows').map((r) => r.rawBody);
  assert.ok(bodies.some((b, i) => bodies.indexOf(b) !== i), 'batches were delivered twice');
  for (const r of rcv.requests.filter((x) => x.path === path && x.kind === 'rows')) {
    const ms = ((r.json as RawObject).get('payload') as RawObject[]).map((m) => rawToPlain(m) as { key: bigint[]; updated: string });
    const perKey = new Map<string, string>();
    for (const m of ms) {
      const prev = perKey.get(String(m.key[0]));
      if (prev) assert.ok(cmp(m.updated, prev) > 0, 'per-key order inside a batch');
      perKey.set(String(m.key[0]), m.updated);
    }
  }
  assert.deepEqual(replay(got.filter((m) => m.acked), 'faulty'), await tableState('faulty', ['id']));
  await client.query(`CANCEL JOB ${id}`);
});

test('jobs survive an emulator restart over the same backend and resume from their high-water mark', async () => {
  const path = '/restart_db/restart_schema';
  await client.query('CREATE TABLE durable (id int PRIMARY KEY, v text)');
  const id = await createFeed(`CREATE CHANGEFEED FOR TABLE durable INTO $1 WITH updated, resolved = '50ms', min_checkpoint_frequency = '50ms', webhook_auth_header = $2`, [
    rcv.sinkUri(path, { clientCert: true }),
    `Bearer ${TOKEN}`,
  ]);
  await client.query("INSERT INTO durable VALUES (1, 'before restart')");
  await rcv.waitFor(() => msgs(path).some((m) => m.acked) && resolvedOf(path).length > 0, 10_000, 'first delivery');
  const lastResolved = (resolvedOf(path).at(-1) as { value: string }).value;
  await client.end();
  await emu.stop();
  // Written straight to the backend while the emulator is down: still captured by the triggers.
  const direct = new pg.Client({ connectionString: db.url });
  await direct.connect();
  await direct.query("INSERT INTO durable VALUES (2, 'while down')");
  await direct.end();
  emu = await startCrdbEmulator({ backend: { url: db.url }, capturePollMs: 20 });
  client = new pg.Client({ connectionString: emu.url });
  await client.connect();
  await client.query("INSERT INTO durable VALUES (3, 'after restart')");
  await rcv.waitFor(() => [2n, 3n].every((k) => msgs(path).some((m) => m.acked && m.key[0] === k)), 15_000, 'rows after the restart');
  await rcv.waitFor(() => resolvedOf(path).some((r) => cmp(r.value, lastResolved) > 0), 10_000, 'resolved after restart');
  const values = resolvedOf(path).map((r) => r.value);
  for (let i = 1; i < values.length; i++) assert.ok(cmp(values[i] as string, values[i - 1] as string) > 0, 'resolved never goes backwards across restarts');
  assert.equal((await job(id)).status, 'running');
  await client.query(`CANCEL JOB ${id}`);
});
