/**
 * Faults with real databases: the PostgreSQL target behind a TCP proxy that is stopped and restarted
 * (also already down at startup), staging behind a proxy (503 + Retry-After while it is away), and a
 * MariaDB target whose user's password changes under a running engine. Nothing may be lost: every row
 * posted while something was down is applied once it is back.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { createMariaDbDatabase, createPgDatabase, MARIADB_ADMIN_URL, PG_ADMIN_URL, type TestDatabase } from '../helpers/databases.js';
import { diagSchemas, get, post, startTestEngine, waitApplied, waitFor, type RunningEngine } from './engine-support.js';

/** A TCP proxy that can be stopped (dropping every connection) and started again on the same port. */
class Proxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly upstream: { host: string; port: number }) {}
  async start(): Promise<void> {
    this.server = net.createServer((client) => {
      const up = net.connect(this.upstream.port, this.upstream.host);
      for (const s of [client, up]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(up);
      up.pipe(client);
      client.on('close', () => up.destroy());
      up.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }
  url(base: string): string {
    const u = new URL(base);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }
}

const pgUpstream = (() => {
  const u = new URL(PG_ADMIN_URL);
  return { host: u.hostname, port: Number(u.port || 5432) };
})();

let staging: TestDatabase;
let target: TestDatabase;
let my: TestDatabase;
let tgt: pg.Client;
const engines: RunningEngine[] = [];
const proxies: Proxy[] = [];
const myUser = `fb_${randomBytes(3).toString('hex')}`;

before(async () => {
  staging = await createPgDatabase('engine_faults_stg');
  target = await createPgDatabase('engine_faults_tgt');
  my = await createMariaDbDatabase('engine_faults_my');
  tgt = new pg.Client({ connectionString: target.url });
  await tgt.connect();
  await tgt.query('CREATE TABLE seq (id INT8 PRIMARY KEY, v INT8 NOT NULL)');
});

after(async () => {
  for (const e of engines) await e.stop().catch(() => undefined);
  for (const p of proxies) await p.stop();
  await tgt?.end();
  const admin = await mysql.createConnection(MARIADB_ADMIN_URL);
  await admin.query(`DROP USER IF EXISTS '${myUser}'@'%'`).catch(() => undefined);
  await admin.end();
  await my?.drop();
  await target?.drop();
  await staging?.drop();
});

let tick = 0n;
const nextHlc = () => `${1810000000000000000n + ++tick * 1_000_000n}.0000000000`;
const upserts = (from: number, to: number, v: number, at: string) => {
  const msgs = [];
  for (let i = from; i <= to; i++) msgs.push(`{"after":{"id":${i},"v":${v}},"key":[${i}],"topic":"seq","updated":"${at}"}`);
  return `{"payload":[${msgs.join(',')}],"length":${msgs.length}}`;
};
const resolved = (at: string) => `{"resolved":"${at}"}`;

async function expectOk(e: RunningEngine, path: string, body: string) {
  const r = await post(e.engine.webhookUrl, path, body);
  assert.equal(r.status, 200, r.body);
}

test('PostgreSQL target down then back (TCP proxy stopped and restarted): nothing lost', async () => {
  const tproxy = new Proxy(pgUpstream);
  proxies.push(tproxy);
  await tproxy.start();
  const e = await startTestEngine({ targetConn: tproxy.url(target.url), stagingConn: staging.url, stagingSchema: `${staging.name}.tdown`, stagingCreateSchema: true, disableAuthentication: true, healthCheckTimeout: '1s', maxRetries: 2, retryMaxBackoff: '100ms' });
  engines.push(e);
  const path = `/${target.name}/public`;
  const key = `${target.name}.public`;
  const t1 = nextHlc();
  await expectOk(e, path, upserts(1, 10, 1, t1));
  await expectOk(e, path, resolved(t1));
  await waitApplied(e.engine.diagUrl, key, t1);

  await tproxy.stop();
  const t2 = nextHlc();
  await expectOk(e, path, upserts(11, 20, 2, t2));
  await expectOk(e, path, upserts(1, 5, 2, t2));
  await expectOk(e, path, resolved(t2));
  await waitFor('health to report the target', async () => {
    const h = await get(e.engine.healthUrl);
    return h.status === 503 && /target unreachable/.test(h.body) && /db|target unavailable|apply/.test(h.body);
  });
  await waitFor('the schema to be reported failing', async () => (await diagSchemas(e.engine.diagUrl)).find((s) => s.schema === key)?.healthy === false);
  await tproxy.start();
  await waitApplied(e.engine.diagUrl, key, t2, 30_000);
  const rows = (await tgt.query<{ id: string; v: string }>('SELECT id, v FROM seq ORDER BY id')).rows;
  assert.equal(rows.length, 20);
  assert.deepEqual(rows.map((r) => r.v), [...Array(5).fill('2'), ...Array(5).fill('1'), ...Array(10).fill('2')]);
  await waitFor('health to recover', async () => (await get(e.engine.healthUrl)).status === 200);
});

test('target already down at startup: the engine starts, stages, and applies when it comes back', async () => {
  const tproxy = new Proxy(pgUpstream);
  proxies.push(tproxy);
  await tproxy.start();
  const url = tproxy.url(target.url);
  await tproxy.stop();
  const e = await startTestEngine({ targetConn: url, stagingConn: staging.url, stagingSchema: `${staging.name}.tstart`, stagingCreateSchema: true, disableAuthentication: true, healthCheckTimeout: '1s', maxRetries: 1, retryMaxBackoff: '50ms' });
  engines.push(e);
  const path = `/${target.name}/public`;
  const t1 = nextHlc();
  await expectOk(e, path, upserts(101, 110, 3, t1));
  await expectOk(e, path, resolved(t1));
  assert.equal((await get(e.engine.healthUrl)).status, 503);
  await tproxy.start();
  await waitApplied(e.engine.diagUrl, `${target.name}.public`, t1, 30_000);
  assert.equal((await tgt.query('SELECT 1 FROM seq WHERE id BETWEEN 101 AND 110')).rowCount, 10);
});

test('staging down: 503 with Retry-After (nothing acknowledged), then intake and apply resume', async () => {
  const sproxy = new Proxy(pgUpstream);
  proxies.push(sproxy);
  await sproxy.start();
  const e = await startTestEngine({ targetConn: target.url, stagingConn: sproxy.url(staging.url), stagingSchema: `${staging.name}.sdown`, stagingCreateSchema: true, disableAuthentication: true, healthCheckTimeout: '1s', httpResponseTimeout: '3s' });
  engines.push(e);
  const path = `/${target.name}/public`;
  const t1 = nextHlc();
  await expectOk(e, path, upserts(201, 205, 1, t1));
  await sproxy.stop();
  const r = await post(e.engine.webhookUrl, path, upserts(206, 210, 1, t1));
  assert.equal(r.status, 503, r.body);
  assert.ok(Number(r.headers['retry-after']) > 0);
  const h = await get(e.engine.healthUrl);
  assert.equal(h.status, 503);
  assert.match(h.body, /staging unreachable/);
  await sproxy.start();
  await waitFor('staging intake to resume', async () => (await post(e.engine.webhookUrl, path, upserts(206, 210, 1, t1))).status === 200, 30_000);
  await expectOk(e, path, resolved(t1));
  await waitApplied(e.engine.diagUrl, `${target.name}.public`, t1, 30_000);
  assert.equal((await tgt.query('SELECT 1 FROM seq WHERE id BETWEEN 201 AND 210')).rowCount, 10);
});

test('staging too slow: 503 at --httpResponseTimeout, and a batch still queued for a staging slot is never written', async () => {
  const e = await startTestEngine({ targetConn: target.url, stagingConn: staging.url, stagingSchema: `${staging.name}.slow`, stagingCreateSchema: true, disableAuthentication: true, httpResponseTimeout: '1s', stagingWriteParallelism: 1 });
  engines.push(e);
  const path = `/${target.name}/public`;
  const t1 = nextHlc();
  await expectOk(e, path, upserts(301, 301, 1, t1));
  const locker = new pg.Client({ connectionString: staging.url });
  await locker.connect();
  try {
    // SHARE blocks the engine's INSERTs into staging but not its reads.
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE slow.failback_mutations IN SHARE MODE');
    const [inFlight, queued] = await Promise.all([post(e.engine.webhookUrl, path, upserts(302, 305, 1, t1)), post(e.engine.webhookUrl, path, upserts(306, 310, 1, t1))]);
    for (const r of [inFlight, queued]) {
      assert.equal(r.status, 503, r.body);
      assert.ok(Number(r.headers['retry-after']) > 0);
    }
    await locker.query('COMMIT');
    const staged = async (from: number, to: number) => {
      const keys = Array.from({ length: to - from + 1 }, (_, i) => `[${from + i}]`);
      return (await locker.query('SELECT 1 FROM slow.failback_mutations WHERE key_json = ANY($1)', [keys])).rowCount;
    };
    // The write that was already running when the 503 went out finishes (harmless: a re-send is a no-op).
    await waitFor('the in-flight write to finish once the lock is gone', async () => (await staged(302, 305)) === 4);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await staged(306, 310), 0, 'the batch that never got a staging slot before its 503 was not written afterwards');
  } finally {
    await locker.end();
  }
  await expectOk(e, path, upserts(302, 310, 1, t1));
  await expectOk(e, path, resolved(t1));
  await waitApplied(e.engine.diagUrl, `${target.name}.public`, t1, 30_000);
  assert.equal((await tgt.query('SELECT 1 FROM seq WHERE id BETWEEN 301 AND 310')).rowCount, 10);
});

test("MariaDB target whose user's password changes under the engine: unhealthy, then applies everything", async () => {
  const admin = await mysql.createConnection(MARIADB_ADMIN_URL);
  try {
    await admin.query(`CREATE USER '${myUser}'@'%' IDENTIFIED BY 'pw-one'`);
    await admin.query(`GRANT ALL ON \`${my.name}\`.* TO '${myUser}'@'%'`);
    await admin.query(`CREATE TABLE \`${my.name}\`.seq (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)`);
    const url = new URL(my.url);
    url.username = myUser;
    url.password = 'pw-one';
    url.hostname = '127.0.0.1';
    const e = await startTestEngine({ targetConn: url.toString(), stagingConn: staging.url, stagingSchema: `${staging.name}.mypw`, stagingCreateSchema: true, disableAuthentication: true, healthCheckTimeout: '1s', maxRetries: 1, retryMaxBackoff: '50ms' });
    engines.push(e);
    const path = `/${my.name}`;
    const t1 = nextHlc();
    await expectOk(e, path, upserts(1, 10, 1, t1));
    await expectOk(e, path, resolved(t1));
    await waitApplied(e.engine.diagUrl, my.name, t1);

    await admin.query(`ALTER USER '${myUser}'@'%' IDENTIFIED BY 'pw-two'`);
    const [procs] = await admin.query<mysql.RowDataPacket[]>('SELECT id FROM information_schema.processlist WHERE user = ?', [myUser]);
    for (const p of procs) await admin.query(`KILL ${Number(p.id)}`).catch(() => undefined);
    const t2 = nextHlc();
    await expectOk(e, path, upserts(5, 15, 2, t2));
    await expectOk(e, path, resolved(t2));
    await waitFor('the schema to be reported failing', async () => (await diagSchemas(e.engine.diagUrl)).find((s) => s.schema === my.name)?.healthy === false, 30_000);
    assert.equal((await get(e.engine.healthUrl)).status, 503);
    assert.equal(e.logs.some((l) => l.includes('pw-one') || l.includes('pw-two')), false, 'passwords never logged');

    await admin.query(`ALTER USER '${myUser}'@'%' IDENTIFIED BY 'pw-one'`);
    await waitApplied(e.engine.diagUrl, my.name, t2, 60_000);
    const [rows] = await admin.query<mysql.RowDataPacket[]>(`SELECT id, v FROM \`${my.name}\`.seq ORDER BY id`);
    assert.equal(rows.length, 15);
    assert.deepEqual(rows.map((r) => Number(r.v)), [1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
  } finally {
    await admin.end();
  }
});
