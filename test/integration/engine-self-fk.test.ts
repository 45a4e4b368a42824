/**
 * Tables whose foreign key references the table itself (emp.mgr -> emp.id), end to end through the
 * webhook, real PostgreSQL staging and real MariaDB and PostgreSQL targets. Staged rows come back
 * ordered by their key's JSON text ("[20]" before "[3]"), so each case puts children before their
 * parents in that order: InnoDB checks foreign keys row by row inside one statement (and its DELETE ...
 * IN removes rows in key order), PostgreSQL at the end of each statement, which is why the PostgreSQL
 * target runs with --flushSize 2 (one statement per table would hide the problem there). Without the
 * in-table ordering (apply/self-fk.ts) every case is deferred again and again and times out.
 * CockroachDB is not involved: the bodies are the documented wire format.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMariaDbDatabase, createPgDatabase, type TestDatabase } from '../helpers/databases.js';
import { silentLogger } from '../../src/lib/log.js';
import { openTarget, type TargetPool, type TargetSchema } from '../../src/replicator/index.js';
import { diagSchemas, post, startTestEngine, waitApplied, type RunningEngine } from './engine-support.js';

type Scenario = 'insert' | 'delete' | 'split' | 'uuid';

interface Setup {
  dialect: 'mariadb' | 'postgres';
  /** Engine settings of this run (besides connections). */
  settings: Record<string, unknown>;
  scenarios: Scenario[];
}

const SETUPS: Setup[] = [
  // One statement per table and window: the case the auditor reported.
  { dialect: 'mariadb', settings: {}, scenarios: ['insert', 'delete', 'uuid'] },
  // Parents and children in different statements, applied source transaction by source transaction.
  { dialect: 'mariadb', settings: { flushSize: 2, collapseMutations: false }, scenarios: ['split'] },
  { dialect: 'postgres', settings: { flushSize: 2 }, scenarios: ['insert', 'delete', 'split', 'uuid'] },
];

/** emp(id, mgr, mentor, name), both mgr and mentor referencing emp(id); UUID keys (CHAR(36) on MariaDB) for the uuid scenario. */
const ddl = (dialect: Setup['dialect'], table: string, uuid: boolean): string => {
  const t = dialect === 'postgres' ? (uuid ? 'UUID' : 'INT8') : uuid ? 'CHAR(36)' : 'BIGINT';
  return dialect === 'postgres'
    ? `CREATE TABLE ${table} (id ${t} PRIMARY KEY, mgr ${t} REFERENCES ${table}(id), mentor ${t} REFERENCES ${table}(id), name TEXT)`
    : `CREATE TABLE ${table} (id ${t} PRIMARY KEY, mgr ${t}, mentor ${t}, name VARCHAR(64), FOREIGN KEY (mgr) REFERENCES ${table}(id), FOREIGN KEY (mentor) REFERENCES ${table}(id))`;
};

async function exec(dialect: Setup['dialect'], db: TestDatabase, sql: string): Promise<void> {
  if (dialect === 'postgres') {
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  } else {
    const mysql = await import('mysql2/promise');
    const c = await mysql.createConnection(db.url);
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  }
}

let staging: TestDatabase;

before(async () => {
  staging = await createPgDatabase('engine_self_fk_stg');
});

after(async () => {
  await staging?.drop();
});

let tick = 0n;
const nextHlc = () => `${1820000000000000000n + ++tick * 1_000_000n}.0000000000`;

type Id = number | string;
interface Row {
  id: Id;
  mgr?: Id | null;
  mentor?: Id | null;
}
const j = (v: Id | null | undefined) => JSON.stringify(v ?? null);
/** A webhook body: upserts for rows, keys-only deletes (no before image) for ids. */
const body = (table: string, at: string, rows: Row[], deletes: Id[] = []) => {
  const msgs = [
    ...rows.map((r) => `{"after":{"id":${j(r.id)},"mgr":${j(r.mgr)},"mentor":${j(r.mentor)},"name":"e${r.id}"},"key":[${j(r.id)}],"topic":"${table}","updated":"${at}"}`),
    ...deletes.map((id) => `{"after":null,"key":[${j(id)}],"topic":"${table}","updated":"${at}"}`),
  ];
  return `{"payload":[${msgs.join(',')}],"length":${msgs.length}}`;
};
const resolved = (at: string) => `{"resolved":"${at}"}`;

let runs = 0;
for (const setup of SETUPS) {
  for (const scenario of setup.scenarios) {
    // Each scenario gets its own target and engine: a window stuck in one must not stall another.
    describe(`self-referencing table on ${setup.dialect} ${JSON.stringify(setup.settings)}: ${scenario}`, () => {
      const n = runs++;
      const table = `emp_${scenario}`;
      let target: TestDatabase;
      let e: RunningEngine;
      let pool: TargetPool;
      let schema: TargetSchema;
      let path: string;
      let schemaKey: string;

      const ok = async (b: string) => {
        const r = await post(e.engine.webhookUrl, path, b);
        assert.equal(r.status, 200, r.body);
      };
      /** Sends the resolved timestamp and waits for the window; on timeout says why the engine is stuck. */
      const applyUpTo = async (at: string) => {
        await ok(resolved(at));
        try {
          await waitApplied(e.engine.diagUrl, schemaKey, at, 15_000);
        } catch (err) {
          const s = (await diagSchemas(e.engine.diagUrl)).find((x) => x.schema === schemaKey);
          assert.fail(`${(err as Error).message}; engine reports: ${s?.problem ?? 'no problem'}`);
        }
      };
      /** The table as [id, mgr, mentor], ordered by id (numbers, or UUID text). */
      const contents = async () => {
        const t = (await pool.introspect(schema))!.tables.get(table)!;
        const rows = await pool.readRows(schema, t, { limit: 1000 });
        const at = (name: string) => t.columns.findIndex((c) => c.name === name);
        const value = (v: string | null | undefined) => (v === null || v === undefined ? null : scenario === 'uuid' ? v : Number(v));
        return rows.map((r) => [r[at('id')], r[at('mgr')], r[at('mentor')]].map(value));
      };

      before(async () => {
        target = setup.dialect === 'postgres' ? await createPgDatabase(`engine_self_fk_${n}`) : await createMariaDbDatabase(`engine_self_fk_${n}`);
        await exec(setup.dialect, target, ddl(setup.dialect, table, scenario === 'uuid'));
        e = await startTestEngine({
          targetConn: target.url,
          stagingConn: staging.url,
          stagingSchema: `${staging.name}.self_fk_${n}`,
          stagingCreateSchema: true,
          disableAuthentication: true,
          ...setup.settings,
        });
        path = setup.dialect === 'postgres' ? `/${target.name}/public` : `/${target.name}`;
        schemaKey = setup.dialect === 'postgres' ? `${target.name}.public` : target.name;
        pool = await openTarget(target.url, { log: silentLogger() });
        schema = pool.dialect.schemaFromPath(path.split('/').filter(Boolean));
      });

      after(async () => {
        await e?.stop();
        await pool?.close();
        await target?.drop();
      });

      if (scenario === 'insert') {
        test('one window inserts managers after the employees that sort before them (a 3-level chain and a second self-reference)', async () => {
          const info = (await pool.introspect(schema))!;
          const refs = info.tables.get(table)!.selfReferences!.map((r) => `${r.columns.join()}->${r.referenced.join()}`);
          assert.deepEqual(refs.sort(), ['mentor->id', 'mgr->id'], 'introspection reports both self-references');
          const t1 = nextHlc();
          const t2 = nextHlc();
          // One source transaction: manager 3 and employees 20 and 21 (staged as [20], [21], [3]).
          await ok(body(table, t1, [{ id: 20, mgr: 3 }, { id: 21, mgr: 3, mentor: 300 }, { id: 3 }]));
          // Another in the same window: 5 <- 40 <- 300 (staged as [300], [40], [5]); 21's mentor is 300.
          await ok(body(table, t2, [{ id: 300, mgr: 40 }, { id: 40, mgr: 5 }, { id: 5 }]));
          await applyUpTo(t2);
          assert.deepEqual(await contents(), [
            [3, null, null],
            [5, null, null],
            [20, 3, null],
            [21, 3, 300],
            [40, 5, null],
            [300, 40, null],
          ]);
        });
      }

      if (scenario === 'delete') {
        test('one window deletes a chain by key only (no before image), children sorting after their parents', async () => {
          // 1 <- 2 <- 3 <- 10, one row per window so that building it never depends on the order.
          for (const row of [{ id: 1 }, { id: 2, mgr: 1 }, { id: 3, mgr: 2, mentor: 1 }, { id: 10, mgr: 3 }, { id: 60 }, { id: 61, mgr: 60 }]) {
            const at = nextHlc();
            await ok(body(table, at, [row]));
            await applyUpTo(at);
          }
          assert.equal((await contents()).length, 6);
          // Staged as [1], [10], [2], [3]: every parent before its child.
          const at = nextHlc();
          await ok(body(table, at, [], [1, 10, 2, 3]));
          await applyUpTo(at);
          assert.deepEqual(await contents(), [
            [60, null, null],
            [61, 60, null],
          ]);
        });
      }

      if (scenario === 'split') {
        test('--flushSize 2: parents and children in different statements, inserted and then deleted in one window each', async () => {
          const t1 = nextHlc();
          // 9 <- 10 <- 12 <- 8 and 9 <- 11, staged as [10], [11], [12], [8], [9].
          await ok(body(table, t1, [{ id: 10, mgr: 9 }, { id: 11, mgr: 9 }, { id: 12, mgr: 10 }, { id: 8, mgr: 12 }, { id: 9 }]));
          await applyUpTo(t1);
          assert.deepEqual(await contents(), [
            [8, 12, null],
            [9, null, null],
            [10, 9, null],
            [11, 9, null],
            [12, 10, null],
          ]);
          // One window: a new manager 7 with report 70 (staged [70] before [7]), and the old tree deleted by key.
          const t2 = nextHlc();
          await ok(body(table, t2, [{ id: 70, mgr: 7 }, { id: 7 }], [10, 11, 12, 8, 9]));
          await applyUpTo(t2);
          assert.deepEqual(await contents(), [
            [7, null, null],
            [70, 7, null],
          ]);
        });
      }

      if (scenario === 'uuid') {
        test('UUID keys: a chain inserted child first and two chains deleted by key in one window', async () => {
          const u = (c: string) => `${c.repeat(8)}-0000-4000-8000-000000000000`;
          // Chain A (staged child first): f <- a <- 2. Chain B (staged parent first): 1 <- b <- e.
          const [fa, aa, a2, b1, bb, be] = [u('f'), u('a'), u('2'), u('1'), u('b'), u('e')];
          const t1 = nextHlc();
          await ok(body(table, t1, [{ id: a2, mgr: aa }, { id: aa, mgr: fa }, { id: fa }, { id: b1 }, { id: bb, mgr: b1 }, { id: be, mgr: bb, mentor: b1 }]));
          await applyUpTo(t1);
          assert.deepEqual(await contents(), [
            [b1, null, null],
            [a2, aa, null],
            [aa, fa, null],
            [bb, b1, null],
            [be, bb, b1],
            [fa, null, null],
          ]);
          const t2 = nextHlc();
          await ok(body(table, t2, [], [b1, a2, aa, bb, be, fa]));
          await applyUpTo(t2);
          assert.deepEqual(await contents(), []);
        });
      }
    });
  }
}
