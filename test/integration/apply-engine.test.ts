/**
 * The Applier against live PostgreSQL and MariaDB: plans applied in one transaction and idempotently,
 * foreign-key violations deferred, a real deadlock and a killed connection retried to success, delete
 * keys mapped onto a composite primary key declared in another order than the source's, unknown
 * tables and schema drift picked up by re-introspection, and aborts.
 */
import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { ZERO_HLC } from '../../src/lib/hlc.js';
import { createLogger, silentLogger, type Logger } from '../../src/lib/log.js';
import { Applier, ApplyError, type ApplierOptions } from '../../src/replicator/apply/index.js';
import { openTarget } from '../../src/replicator/dialects/index.js';
import type { ApplyOp, ApplyPlan, TargetPool } from '../../src/replicator/types.js';
import { PG_ADMIN_URL } from '../helpers/databases.js';
import { closeLiveTargets, openLiveTargets, type LiveTarget } from '../golden/live.js';

let targets: LiveTarget[] = [];
const V1 = 'd7b18299-c0c4-4304-9ef7-05ae46fd5ee1';
const V2 = '020cf7f4-6324-48a0-9f74-6c9010fb1ab4';
const V3 = 'b74ea421-fcaf-4d80-9dcc-d222d49bdc17';
const V4 = '5d0c85b5-8866-47cf-a6bc-d032f198e48f';

before(async () => {
  targets = await openLiveTargets('apply_engine');
  for (const t of targets) {
    await t.pool.execAdmin([
      `CREATE TABLE parent (id bigint PRIMARY KEY, name varchar(20))`,
      `CREATE TABLE child (id bigint PRIMARY KEY, parent_id bigint NOT NULL, note varchar(20), FOREIGN KEY (parent_id) REFERENCES parent (id))`,
      // CockroachDB's key is (city, id); this target declares (id, city).
      `CREATE TABLE vehicles (city varchar(20) NOT NULL, id varchar(36) NOT NULL, status varchar(20), PRIMARY KEY (id, city))`,
      `CREATE TABLE kv (id int PRIMARY KEY, v varchar(20))`,
      `CREATE TABLE gate (id int PRIMARY KEY, v varchar(20))`,
      `CREATE TABLE filler (id int PRIMARY KEY, v int)`,
    ]);
  }
});
after(async () => {
  await closeLiveTargets(targets);
});

function capture(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk, _e, cb) {
        for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    }),
  });
  return { log, lines };
}

function applierFor(pool: TargetPool, extra: Partial<ApplierOptions> = {}): Applier {
  return new Applier({
    pool,
    log: silentLogger(),
    maxRetries: 5,
    retryInitialBackoffMs: 10,
    retryMaxBackoffMs: 100,
    retryMultiplier: 2,
    ...extra,
  });
}

const up = (table: string, rows: [key: string, after: string][]): ApplyOp => ({
  kind: 'upsert',
  table,
  rows: rows.map(([key, after]) => ({ key, after, hlc: ZERO_HLC })),
});
const del = (table: string, rows: [key: string, before?: string][]): ApplyOp => ({
  kind: 'delete',
  table,
  rows: rows.map(([key, before]) => ({ key, before, hlc: ZERO_HLC })),
});

/** A raw session for the other side of a conflict, and helpers to watch lock waits. */
async function raw(t: LiveTarget) {
  if (t.dialect === 'postgres') {
    const c = new pg.Client({ connectionString: t.db.url });
    await c.connect();
    return {
      q: async (sql: string) => (await c.query(sql)).rows as Record<string, unknown>[],
      end: () => c.end(),
    };
  }
  const c = await mysql.createConnection(t.db.url);
  return {
    q: async (sql: string) => (await c.query(sql))[0] as Record<string, unknown>[],
    end: () => c.end(),
  };
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function lockWaiters(t: LiveTarget, admin: Awaited<ReturnType<typeof raw>>): Promise<number> {
  const rows =
    t.dialect === 'postgres'
      ? await admin.q(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)
      : // INNODB_TRX does not always list a transaction blocked on its first lock; the processlist does.
        await admin.q(waitingSql('count(*) AS n'));
  return Number(rows[0]!.n);
}

/** MariaDB sessions of this database stuck in a statement for over 200 ms (i.e. waiting for a lock). */
const waitingSql = (what: string) =>
  `SELECT ${what} FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID() AND COMMAND = 'Query' AND TIME_MS > 200`;

const planOf = (t: LiveTarget, ops: ApplyOp[]): ApplyPlan => ({ schema: t.schema, from: ZERO_HLC, to: ZERO_HLC, ops });

async function rows(t: LiveTarget, table: string) {
  const info = (await t.pool.introspect(t.schema))!;
  return t.pool.readRows(info.schema, info.tables.get(table)!, { limit: 100 });
}

for (const dialect of ['postgres', 'mysql'] as const) {
  const label = dialect === 'postgres' ? 'PostgreSQL' : 'MariaDB';
  const t = () => targets.find((x) => x.dialect === dialect)!;

  describe(`Applier on live ${label}`, () => {
    it('applies parents then children in one transaction, and applying again changes nothing', async () => {
      const applier = applierFor(t().pool);
      const plan = planOf(t(), [
        up('parent', [['[1]', '{"id":1,"name":"p1"}'], ['[1101234051444375553]', '{"id":1101234051444375553,"name":"big"}']]),
        up('child', [['[10]', '{"id":10,"parent_id":1101234051444375553,"note":"a"}'], ['[11]', '{"id":11,"parent_id":1,"note":"b"}']]),
        del('child', [['[12]']]),
      ]);
      const first = await applier.apply(plan);
      assert.deepEqual([...first.counts.upserts], [['parent', 2], ['child', 2]]);
      assert.deepEqual([...first.counts.deletes], [['child', 0]]);
      const state = [await rows(t(), 'parent'), await rows(t(), 'child')];
      const second = await applier.apply(plan);
      assert.equal(second.attempts, 1);
      assert.deepEqual([await rows(t(), 'parent'), await rows(t(), 'child')], state);
      assert.deepEqual(state[1], [
        ['10', '1101234051444375553', 'a'],
        ['11', '1', 'b'],
      ]);
    });

    it('defers a child whose parent has not arrived, applying nothing, and succeeds once it has', async () => {
      const applier = applierFor(t().pool);
      const child = up('child', [['[20]', '{"id":20,"parent_id":2,"note":"early"}']]);
      const e = await applier.apply(planOf(t(), [up('kv', [['[100]', '{"id":100,"v":"same tx"}']]), child])).catch((x: unknown) => x);
      assert.ok(e instanceof ApplyError, String(e));
      assert.equal(e.errorClass, 'defer');
      assert.equal(e.table, 'child');
      assert.equal(e.attempts, 1, 'a deferral is not retried by the applier');
      assert.equal((await rows(t(), 'kv')).find((r) => r[0] === '100'), undefined, 'the whole transaction rolled back');
      const ok = await applier.apply(planOf(t(), [up('parent', [['[2]', '{"id":2,"name":"p2"}']]), child]));
      assert.equal(ok.counts.upserts.get('child'), 1);
    });

    it('maps delete keys onto a composite key declared in another order', async () => {
      const { log, lines } = capture();
      const learning = applierFor(t().pool, { log });
      await learning.apply(
        planOf(t(), [
          up('vehicles', [
            [`["rome","${V1}"]`, `{"city":"rome","id":"${V1}","status":"in_use"}`],
            [`["paris","${V2}"]`, `{"city":"paris","id":"${V2}","status":"available"}`],
            [`["oslo","${V3}"]`, `{"city":"oslo","id":"${V3}","status":"lost"}`],
            [`["bergen","${V4}"]`, `{"city":"bergen","id":"${V4}","status":"new"}`],
          ]),
        ]),
      );
      // Learned from the upserts above: no before image needed.
      const d1 = await learning.apply(planOf(t(), [del('vehicles', [[`["rome","${V1}"]`]])]));
      assert.equal(d1.counts.deletes.get('vehicles'), 1);
      // A fresh applier with the before image (changefeed diff option).
      const d2 = await applierFor(t().pool).apply(
        planOf(t(), [del('vehicles', [[`["paris","${V2}"]`, `{"city":"paris","id":"${V2}","status":"available"}`]])]),
      );
      assert.equal(d2.counts.deletes.get('vehicles'), 1);
      // A fresh applier told the source key order.
      const d3 = await applierFor(t().pool, { sourceKeyColumns: new Map([['vehicles', ['city', 'id']]]) }).apply(
        planOf(t(), [del('vehicles', [[`["oslo","${V3}"]`]])]),
      );
      assert.equal(d3.counts.deletes.get('vehicles'), 1);
      // Knowing nothing, the applier maps by position as MOLT does: wrong here, so nothing matches, and it says so once.
      const blind = capture();
      const d4 = await applierFor(t().pool, { log: blind.log }).apply(planOf(t(), [del('vehicles', [[`["bergen","${V4}"]`], [`["bergen","${V4}"]`]])]));
      assert.equal(d4.counts.deletes.get('vehicles'), 0);
      assert.equal(blind.lines.filter((l) => l.level === 'warn').length, 1);
      assert.deepEqual(await rows(t(), 'vehicles'), [[V4, 'bergen', 'new']]);
      assert.equal(lines.filter((l) => l.level === 'warn').length, 0);
    });

    it('retries a real deadlock to success', async () => {
      await t().pool.execAdmin([
        `DELETE FROM kv WHERE id IN (1, 2)`,
        `INSERT INTO kv (id, v) VALUES (1, 'start'), (2, 'start')`,
        `DELETE FROM gate`,
        `INSERT INTO gate (id, v) VALUES (1, 'start')`,
        `DELETE FROM filler`,
        `INSERT INTO filler (id, v) SELECT n, 0 FROM (${Array.from({ length: 200 }, (_, i) => `SELECT ${i + 1} AS n`).join(' UNION ALL ')}) s`,
      ]);
      let pool = t().pool;
      if (dialect === 'postgres') {
        // The applier's sessions detect deadlocks quickly, the other sessions slowly, so that the applier
        // is the victim (PostgreSQL's waiter whose timer fires while the cycle exists detects it).
        const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
        await admin.connect();
        await admin.query(`ALTER DATABASE "${t().db.name}" SET deadlock_timeout = '100ms'`);
        await admin.end();
        pool = await openTarget(t().db.url, { maxPoolSize: 2 });
        t().extraPools.push(pool);
      }
      const { log, lines } = capture();
      const applier = applierFor(pool, { log });
      const blocker = await raw(t());
      const gate = await raw(t());
      const watcher = await raw(t());
      try {
        let applying: Promise<unknown>;
        if (dialect === 'postgres') {
          await blocker.q(`SET deadlock_timeout = '10s'`);
          await gate.q(`SET deadlock_timeout = '10s'`);
          await blocker.q('BEGIN');
          await blocker.q(`UPDATE kv SET v = 'blocker' WHERE id = 1`);
          await gate.q('BEGIN');
          await gate.q(`UPDATE gate SET v = 'gate' WHERE id = 1`);
          // Applier: takes kv 2, waits at the gate, then wants kv 1 (held by the blocker).
          applying = applier.apply(
            planOf(t(), [up('kv', [['[2]', '{"id":2,"v":"applier"}']]), up('gate', [['[1]', '{"id":1,"v":"applier"}']]), up('kv', [['[1]', '{"id":1,"v":"applier"}']])]),
          );
          await waitFor(async () => (await lockWaiters(t(), watcher)) === 1, 'the applier to wait at the gate');
          const blocked = blocker.q(`UPDATE kv SET v = 'blocker' WHERE id = 2`);
          await waitFor(async () => (await lockWaiters(t(), watcher)) === 2, 'the blocker to wait for the applier');
          await gate.q('ROLLBACK');
          await blocked;
          await blocker.q('COMMIT');
        } else {
          // InnoDB detects the cycle at once and rolls back the lighter transaction: make the blocker heavy.
          await blocker.q('START TRANSACTION');
          await blocker.q('UPDATE filler SET v = v + 1');
          await blocker.q(`UPDATE kv SET v = 'blocker' WHERE id = 1`);
          applying = applier.apply(planOf(t(), [up('kv', [['[2]', '{"id":2,"v":"applier"}']]), up('kv', [['[1]', '{"id":1,"v":"applier"}']])]));
          await waitFor(async () => (await lockWaiters(t(), watcher)) === 1, 'the applier to wait for the blocker');
          await blocker.q(`UPDATE kv SET v = 'blocker' WHERE id = 2`);
          await blocker.q('COMMIT');
        }
        const out = (await applying) as Awaited<ReturnType<Applier['apply']>>;
        assert.equal(out.attempts, 2, 'one deadlock, then success');
        const retried = lines.find((l) => l.msg === 'target apply failed with a transient error; retrying');
        assert.ok(retried, 'the retry is logged');
        assert.equal(retried.code, dialect === 'postgres' ? '40P01' : 'ER_LOCK_DEADLOCK');
        const kv = await rows(t(), 'kv');
        assert.deepEqual(kv.filter((r) => r[0] === '1' || r[0] === '2'), [
          ['1', 'applier'],
          ['2', 'applier'],
        ]);
      } finally {
        await blocker.end();
        await gate.end();
        await watcher.end();
      }
    });

    it('retries after its connection is killed mid-transaction', async () => {
      const applier = applierFor(t().pool);
      const gate = await raw(t());
      const admin = await raw(t());
      try {
        await gate.q(dialect === 'postgres' ? 'BEGIN' : 'START TRANSACTION');
        await gate.q(`UPDATE gate SET v = 'held' WHERE id = 1`);
        const applying = applier.apply(planOf(t(), [up('kv', [['[30]', '{"id":30,"v":"k"}']]), up('gate', [['[1]', '{"id":1,"v":"after kill"}']])]));
        await waitFor(async () => (await lockWaiters(t(), admin)) === 1, 'the applier to wait at the gate');
        if (dialect === 'postgres') {
          await admin.q(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
        } else {
          const waiting = await admin.q(waitingSql('ID AS id'));
          for (const w of waiting) await admin.q(`KILL ${Number(w.id)}`);
        }
        await gate.q('ROLLBACK');
        const out = await applying;
        assert.ok(out.attempts >= 2);
        assert.deepEqual((await rows(t(), 'gate'))[0], ['1', 'after kill']);
        assert.deepEqual((await rows(t(), 'kv')).find((r) => r[0] === '30'), ['30', 'k']);
      } finally {
        await gate.end();
        await admin.end();
      }
    });

    it('re-reads the catalog for a table created after the last read; a table that never appears is fatal', async () => {
      const applier = applierFor(t().pool);
      const late = planOf(t(), [up('late', [['[1]', '{"id":1}']])]);
      await applier.schema(t().schema);
      const e = await applier.apply(late).catch((x: unknown) => x);
      assert.ok(e instanceof ApplyError);
      assert.deepEqual([e.errorClass, e.code, e.table], ['fatal', 'APPLY_UNKNOWN_TABLE', 'late']);
      await t().pool.execAdmin([`CREATE TABLE late (id int PRIMARY KEY)`]);
      const out = await applier.apply(late);
      assert.equal(out.counts.upserts.get('late'), 1);
    });

    it('reports a column the target lacks, then applies once the column is added', async () => {
      const applier = applierFor(t().pool);
      const plan = planOf(t(), [up('kv', [['[40]', '{"id":40,"v":"x","colour":"red"}']])]);
      const e = await applier.apply(plan).catch((x: unknown) => x);
      assert.ok(e instanceof ApplyError);
      assert.deepEqual([e.errorClass, e.code, e.table, e.column], ['fatal', 'APPLY_SCHEMA_MISMATCH', 'kv', 'colour']);
      await t().pool.execAdmin([`ALTER TABLE kv ADD COLUMN colour varchar(10)`]);
      const out = await applier.apply(plan);
      assert.equal(out.attempts, 2, 'the stale catalog fails once, the refreshed one applies');
    });

    it('stops at the next statement when aborted, rolling back', async () => {
      const applier = applierFor(t().pool);
      const gate = await raw(t());
      const admin = await raw(t());
      try {
        await gate.q(dialect === 'postgres' ? 'BEGIN' : 'START TRANSACTION');
        await gate.q(`UPDATE gate SET v = 'held' WHERE id = 1`);
        const ac = new AbortController();
        const applying = applier
          .apply(planOf(t(), [up('gate', [['[1]', '{"id":1,"v":"aborted"}']]), up('kv', [['[50]', '{"id":50,"v":"aborted"}']])]), ac.signal)
          .catch((x: unknown) => x);
        await waitFor(async () => (await lockWaiters(t(), admin)) === 1, 'the applier to wait at the gate');
        ac.abort(new Error('shutting down'));
        await gate.q('ROLLBACK');
        const e = await applying;
        assert.match(String(e), /shutting down/);
        assert.notDeepEqual((await rows(t(), 'gate'))[0], ['1', 'aborted']);
        assert.equal((await rows(t(), 'kv')).find((r) => r[0] === '50'), undefined);
      } finally {
        await gate.end();
        await admin.end();
      }
    });
  });
}
