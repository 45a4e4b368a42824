/**
 * Error classification with real errors induced on live PostgreSQL and MariaDB: foreign-key violations
 * (defer), deadlocks, PostgreSQL serialization failures, MariaDB lock-wait timeouts and killed
 * connections (retry), and a value too long for its column (fatal; on MariaDB this also shows the
 * session runs in strict mode).
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import mysql from 'mysql2/promise';
import type { SchemaInfo, TargetTx } from '../../src/replicator/types.js';
import { closeLiveTargets, openLiveTargets, type LiveTarget } from '../golden/live.js';

let targets: LiveTarget[] = [];
const infos = new Map<string, SchemaInfo>();

before(async () => {
  targets = await openLiveTargets('dialect_errors');
  for (const t of targets) {
    await t.pool.execAdmin([
      `CREATE TABLE parent (id int PRIMARY KEY, name varchar(20))`,
      `CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL, FOREIGN KEY (parent_id) REFERENCES parent (id))`,
      `CREATE TABLE kv (id int PRIMARY KEY, v varchar(3))`,
    ]);
    infos.set(t.dialect, (await t.pool.introspect(t.schema))!);
  }
});
after(async () => {
  await closeLiveTargets(targets);
});

/** A raw driver session on the target database, for the other side of a conflict. */
async function rawSession(t: LiveTarget) {
  if (t.dialect === 'postgres') {
    const c = new pg.Client({ connectionString: t.db.url });
    await c.connect();
    return { q: (sql: string) => c.query(sql).then(() => undefined), end: () => c.end() };
  }
  const c = await mysql.createConnection(t.db.url);
  return { q: (sql: string) => c.query(sql).then(() => undefined), end: () => c.end() };
}

const caught = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

for (const dialect of ['postgres', 'mysql'] as const) {
  const label = dialect === 'postgres' ? 'PostgreSQL' : 'MariaDB';
  const t = () => targets.find((x) => x.dialect === dialect)!;
  const info = () => infos.get(dialect)!;
  const tbl = (name: string) => info().tables.get(name)!;

  describe(`${label} error classification (real errors)`, () => {
    it('a child without its parent is deferred', async () => {
      const e = await caught(t().pool.transaction((tx) => tx.upsert(info().schema, tbl('child'), ['{"id":1,"parent_id":42}'])));
      assert.ok(e, 'expected a foreign-key violation');
      assert.equal(t().pool.classify(e), 'defer', String(e));
    });

    it('deleting a parent that still has children is deferred', async () => {
      await t().pool.transaction(async (tx) => {
        await tx.upsert(info().schema, tbl('parent'), ['{"id":5,"name":"p"}']);
        await tx.upsert(info().schema, tbl('child'), ['{"id":50,"parent_id":5}']);
      });
      const e = await caught(t().pool.transaction((tx) => tx.delete(info().schema, tbl('parent'), [['5']])));
      assert.equal(t().pool.classify(e), 'defer', String(e));
    });

    it('a value too long for its column is fatal', async () => {
      const e = await caught(t().pool.transaction((tx) => tx.upsert(info().schema, tbl('kv'), ['{"id":1,"v":"toolong"}'])));
      assert.ok(e, 'strict mode rejects the value instead of truncating it');
      assert.equal(t().pool.classify(e), 'fatal', String(e));
    });

    it('a real deadlock between two transactions is retry', async () => {
      await t().pool.transaction((tx) => tx.upsert(info().schema, tbl('kv'), ['{"id":1,"v":"a"}', '{"id":2,"v":"b"}']));
      // Each transaction locks one row, waits for the other to do the same, then wants the other's row.
      let arrived = 0;
      let release!: () => void;
      const bothLocked = new Promise<void>((r) => (release = r));
      const side = (first: number, second: number) => async (tx: TargetTx) => {
        await tx.upsert(info().schema, tbl('kv'), [`{"id":${first},"v":"x"}`]);
        if (++arrived === 2) release();
        await bothLocked;
        await tx.upsert(info().schema, tbl('kv'), [`{"id":${second},"v":"y"}`]);
      };
      const results = await Promise.all([caught(t().pool.transaction(side(1, 2))), caught(t().pool.transaction(side(2, 1)))]);
      const errors = results.filter((r) => r !== undefined);
      assert.equal(errors.length, 1, 'exactly one side is chosen as the deadlock victim');
      assert.equal(t().pool.classify(errors[0]), 'retry', String(errors[0]));
      assert.match(String((errors[0] as { code?: string }).code), dialect === 'postgres' ? /^40P01$/ : /^ER_LOCK_DEADLOCK$/);
    });

    if (dialect === 'postgres') {
      it('a serialization failure is retry', async () => {
        const a = await rawSession(t());
        const b = await rawSession(t());
        try {
          await a.q(`INSERT INTO kv VALUES (9, 'a') ON CONFLICT (id) DO UPDATE SET v = 'a'`);
          await a.q('BEGIN ISOLATION LEVEL REPEATABLE READ');
          await a.q('SELECT * FROM kv WHERE id = 9');
          await b.q(`UPDATE kv SET v = 'b' WHERE id = 9`);
          const e = await caught(a.q(`UPDATE kv SET v = 'c' WHERE id = 9`));
          assert.equal((e as { code?: string }).code, '40001');
          assert.equal(t().pool.classify(e), 'retry');
          await a.q('ROLLBACK');
        } finally {
          await a.end();
          await b.end();
        }
      });
    } else {
      it('a lock-wait timeout is retry (MOLT never retries 1205)', async () => {
        const a = await rawSession(t());
        const b = await rawSession(t());
        try {
          await a.q('START TRANSACTION');
          await a.q(`UPDATE kv SET v = 'a' WHERE id = 1`);
          await b.q('SET SESSION innodb_lock_wait_timeout = 1');
          const e = await caught(b.q(`UPDATE kv SET v = 'b' WHERE id = 1`));
          assert.equal((e as { errno?: number }).errno, 1205);
          assert.equal(t().pool.classify(e), 'retry');
          await a.q('ROLLBACK');
        } finally {
          await a.end();
          await b.end();
        }
      });
    }

    it('a connection killed mid-transaction is retry, and the pool recovers', async () => {
      const admin = await rawSession(t());
      try {
        const e = await caught(
          t().pool.transaction(async (tx) => {
            await tx.upsert(info().schema, tbl('kv'), ['{"id":3,"v":"k"}']);
            if (dialect === 'postgres') {
              await admin.q(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
            } else {
              const c = await mysql.createConnection(t().db.url);
              const [rows] = await c.query(`SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID()`);
              for (const r of rows as { id: number }[]) await c.query(`KILL ${r.id}`).catch(() => undefined);
              await c.end();
            }
            await tx.upsert(info().schema, tbl('kv'), ['{"id":4,"v":"k"}']);
          }),
        );
        assert.ok(e, 'the killed connection fails the transaction');
        assert.equal(t().pool.classify(e), 'retry', String(e));
        await t().pool.transaction((tx) => tx.upsert(info().schema, tbl('kv'), ['{"id":4,"v":"ok"}']));
        const rows = await t().pool.readRows(info().schema, tbl('kv'), { limit: 10 });
        assert.deepEqual(rows.find((r) => r[0] === '4'), ['4', 'ok']);
        assert.equal(rows.find((r) => r[0] === '3'), undefined, 'the killed transaction left nothing');
      } finally {
        await admin.end();
      }
    });
  });
}
