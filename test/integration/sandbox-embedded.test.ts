/**
 * The sandbox's embedded PostgreSQL (PGlite in a worker thread behind src/sandbox/embedded/server.ts)
 * under the load the engine puts on a target: many pooled connections preparing the SAME statement
 * names, parameterised queries from every connection at once, transactions, and clients that vanish
 * mid-transaction or mid-batch. PGlite is one shared session, so each of these would break with a
 * plain message queue; here every client must see a private session.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import net from 'node:net';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/sandbox/embedded/index.js';

let db: EmbeddedPostgres;
let pool: pg.Pool;

before(async () => {
  db = await startEmbeddedPostgres();
  pool = new pg.Pool({ connectionString: db.url, max: 6 });
  await pool.query('CREATE TABLE kv (k INT PRIMARY KEY, v TEXT NOT NULL)');
});
after(async () => {
  await pool?.end();
  await db?.stop();
});

const upsert = (k: number, v: string) => ({ name: 'upsert_kv', text: 'INSERT INTO kv VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v', values: [k, v] });

test('the same statement name prepared on every pooled connection: no collision, every write lands', async () => {
  await Promise.all(Array.from({ length: 300 }, (_, i) => pool.query(upsert(i % 40, `v${i}`))));
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM kv');
  assert.equal(rows[0]?.n, '40');
  // Connections run in any order, so each key holds one of the values written to it.
  const all = await pool.query<{ k: number; v: string }>('SELECT k, v FROM kv ORDER BY k');
  for (const r of all.rows) assert.equal(Number(r.v.slice(1)) % 40, r.k, JSON.stringify(r));
});

test('parameterised queries from many connections at once each get their own answer', async () => {
  const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => pool.query<{ x: string }>('SELECT $1::text AS x', [`q${i}`])));
  answers.forEach((r, i) => assert.equal(r.rows[0]?.x, `q${i}`));
});

test('concurrent transactions are kept whole', async () => {
  await Promise.all(
    Array.from({ length: 12 }, async (_, i) => {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        await c.query(upsert(1000 + i, 'a'));
        await c.query('UPDATE kv SET v = $1 WHERE k = $2', [`tx${i}`, 1000 + i]);
        await c.query('COMMIT');
      } finally {
        c.release();
      }
    }),
  );
  const { rows } = await pool.query<{ k: number; v: string }>('SELECT k, v FROM kv WHERE k >= 1000 ORDER BY k');
  assert.deepEqual(rows.map((r) => r.v), Array.from({ length: 12 }, (_, i) => `tx${i}`));
});

test('a client that vanishes mid-transaction is rolled back and its statements deallocated; others carry on', async () => {
  const c = new pg.Client({ connectionString: db.url });
  c.on('error', () => undefined);
  await c.connect();
  await c.query('BEGIN');
  await c.query({ name: 'lonely', text: 'INSERT INTO kv VALUES ($1, $2)', values: [5000, 'never committed'] });
  (c as unknown as { connection: { stream: net.Socket } }).connection.stream.destroy();
  // The next client is served (it would wait forever if the dead one still held the session).
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM kv WHERE k = 5000');
  assert.equal(rows[0]?.n, 0);
  const prepared = await pool.query<{ name: string }>('SELECT name FROM pg_prepared_statements');
  assert.ok(!prepared.rows.some((r) => r.name.endsWith('lonely')), JSON.stringify(prepared.rows));
});

test('a client that vanishes in the middle of an extended-protocol batch leaves the session usable', async () => {
  const socket = net.connect(db.port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const startup = Buffer.concat([Buffer.alloc(4), Buffer.from([0, 3, 0, 0]), Buffer.from('user\0postgres\0database\0postgres\0\0')]);
  startup.writeInt32BE(startup.length, 0);
  socket.write(startup);
  await new Promise((r) => setTimeout(r, 200));
  // Parse with a syntax error and no Sync: the session would skip every message until a Sync.
  const body = Buffer.from('\0SELEC broken\0\0\0');
  const parse = Buffer.concat([Buffer.from('P'), Buffer.alloc(4), body]);
  parse.writeInt32BE(body.length + 4, 1);
  socket.write(parse);
  await new Promise((r) => setTimeout(r, 200));
  socket.destroy();
  const { rows } = await pool.query<{ x: number }>('SELECT 1 AS x');
  assert.equal(rows[0]?.x, 1);
});
