/**
 * grant-target-privileges against real PostgreSQL and MariaDB targets, each with a real limited user
 * created for the test (it can read but not write). CockroachDB is not needed: the step's table list
 * comes from preflight's recorded outputs, seeded here as preflight would record them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { silentLogger } from '../../../src/lib/log.js';
import { grantTargetPrivileges } from '../../../src/steps/grant-target-privileges.js';
import { createServices } from '../../../src/steps/services-impl.js';
import { createMariaDbDatabase, createPgDatabase, PG_ADMIN_URL, type TestDatabase } from '../../helpers/databases.js';
import { assertRunOk, testConfig, TestBed } from '../../helpers/step-harness.js';
import type { UiMode } from '../../../src/steps/ui.js';

const preflightOutputs = (tables: string[]) => ({
  checkedAt: new Date().toISOString(),
  digest: 'seeded',
  crdbVersion: 'CockroachDB CCL v24.1.0',
  stagingVersion: 'CockroachDB CCL v24.1.0',
  targetVersion: 'x',
  targetDialect: 'postgres',
  targetSchema: [],
  targetUser: 'x',
  tables: tables.map((t) => `public.${t}`),
  sourceKeys: {},
  sourceKeyColumns: {},
  missingPrivileges: {},
  warnings: [],
});

interface Target {
  name: string;
  db: TestDatabase;
  /** Connection URL for the limited user. */
  userConn: string;
  adminConn: string;
  user: string;
  /** Runs SQL as the admin (what a DBA would do). */
  admin(sql: string): Promise<void>;
  /** Tries a DELETE as the limited user: resolves when allowed. */
  tryDelete(): Promise<void>;
  cleanup(): Promise<void>;
}

async function pgTarget(): Promise<Target> {
  const db = await createPgDatabase('grant_steps');
  const user = `lim_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await admin.query(`CREATE TABLE employees (id INT PRIMARY KEY, name TEXT); CREATE TABLE orders (id INT PRIMARY KEY, total NUMERIC)`);
  await admin.query(`CREATE USER ${user} WITH LOGIN PASSWORD 'p@ss w0rd'; GRANT USAGE ON SCHEMA public TO ${user}; GRANT SELECT ON employees, orders TO ${user}`);
  const userUrl = new URL(db.url);
  userUrl.username = user;
  userUrl.password = encodeURIComponent('p@ss w0rd');
  return {
    name: 'PostgreSQL',
    db,
    userConn: userUrl.toString(),
    adminConn: db.url,
    user,
    admin: async (sql) => void (await admin.query(sql)),
    async tryDelete() {
      const c = new pg.Client({ connectionString: userUrl.toString() });
      await c.connect();
      try {
        await c.query('DELETE FROM employees WHERE id = -1');
      } finally {
        await c.end();
      }
    },
    async cleanup() {
      await admin.end();
      await db.drop();
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP USER IF EXISTS ${user}`);
      await c.end();
    },
  };
}

async function mariaTarget(): Promise<Target> {
  const db = await createMariaDbDatabase('grant_steps');
  const user = `lim_${randomBytes(3).toString('hex')}`;
  const admin = await mysql.createConnection({ uri: db.url, multipleStatements: true });
  await admin.query(`CREATE TABLE employees (id INT PRIMARY KEY, name TEXT); CREATE TABLE orders (id INT PRIMARY KEY, total DECIMAL(12,2))`);
  await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'pw$52&'; GRANT SELECT ON \`${db.name}\`.* TO '${user}'@'%'`);
  const userUrl = new URL(db.url);
  userUrl.username = user;
  userUrl.password = encodeURIComponent('pw$52&');
  return {
    name: 'MariaDB',
    db,
    userConn: userUrl.toString(),
    adminConn: db.url,
    user,
    admin: async (sql) => void (await admin.query(sql)),
    async tryDelete() {
      const c = await mysql.createConnection(userUrl.toString());
      try {
        await c.query('DELETE FROM employees WHERE id = -1');
      } finally {
        await c.end();
      }
    },
    async cleanup() {
      await admin.query(`DROP USER IF EXISTS '${user}'@'%'`);
      await admin.end();
      await db.drop();
    },
  };
}

/** Takes the write privileges away again, however they were granted (MariaDB keeps table and database grants apart). */
async function revokeWrites(t: Target, isPg: boolean): Promise<void> {
  if (isPg) return t.admin(`REVOKE INSERT, UPDATE, DELETE ON employees, orders FROM ${t.user}`);
  for (const on of [`\`${t.db.name}\`.*`, `\`${t.db.name}\`.\`employees\``, `\`${t.db.name}\`.\`orders\``]) {
    await t.admin(`REVOKE INSERT, UPDATE, DELETE ON ${on} FROM '${t.user}'@'%'`).catch(() => undefined);
  }
}

for (const make of [pgTarget, mariaTarget]) {
  describe(`grant-target-privileges (${make === pgTarget ? 'PostgreSQL' : 'MariaDB'})`, () => {
    let t: Target;
    const beds: TestBed[] = [];
    before(async () => {
      t = await make();
    });
    after(async () => {
      for (const b of beds) await b.close();
      await t.cleanup();
    });

    function bed(options: { admin: boolean; mode?: UiMode; answers?: boolean[] }): TestBed {
      const config = testConfig({ tables: ['employees', 'orders'], target: { conn: t.userConn, ...(options.admin ? { adminConn: t.adminConn } : {}) } });
      const b = new TestBed({ config, services: createServices(config, silentLogger()), mode: options.mode, answers: options.answers });
      b.setOutputs('preflight', preflightOutputs(['employees', 'orders']));
      beds.push(b);
      return b;
    }

    it('without an admin connection under --yes: fails with the exact SQL for a DBA', async () => {
      const b = bed({ admin: false });
      const c = await grantTargetPrivileges.check(b.ctx(grantTargetPrivileges));
      assert.equal(c.state, 'pending');
      assert.match(c.detail, /INSERT, UPDATE, DELETE on employees/);
      const plan = await grantTargetPrivileges.plan(b.ctx(grantTargetPrivileges));
      assert.ok(plan.some((a) => /GRANT .*DELETE/.test(a.text)), JSON.stringify(plan));
      assert.doesNotMatch(JSON.stringify(plan), /p%40ss|pw%2452/);
      await assert.rejects(grantTargetPrivileges.apply(b.ctx(grantTargetPrivileges)), (err: Error & { code?: string; actions?: string[] }) => {
        assert.equal(err.code, 'GRANTS_NEEDED');
        assert.match(err.message, /DELETE is included/);
        assert.ok(err.actions?.some((a) => /GRANT .*INSERT, UPDATE, DELETE/.test(a)), JSON.stringify(err.actions));
        assert.doesNotMatch(`${err.message}${err.actions}`, /p%40ss|pw%2452|p@ss|pw\$52/);
        return true;
      });
    });

    it('asks a DBA interactively, re-checks, and refuses while the grants are missing', async () => {
      const b = bed({ admin: false, mode: 'interactive', answers: [true] });
      await assert.rejects(grantTargetPrivileges.apply(b.ctx(grantTargetPrivileges)), /still lacks/);
      assert.ok(b.texts('info').some((x) => /Ask a DBA to run this SQL/.test(x)));
    });

    it('with an admin connection: grants what is missing (DELETE included); apply twice equals once', async () => {
      const b = bed({ admin: true });
      await assert.rejects(t.tryDelete(), 'the limited user cannot delete yet');
      await grantTargetPrivileges.apply(b.ctx(grantTargetPrivileges));
      assert.ok(b.texts('info').some((x) => /DELETE is included/.test(x)));
      await t.tryDelete();
      const out = b.outputs('grant-target-privileges');
      assert.equal(out.method, 'admin');
      assert.ok((out.statements as string[]).length > 0);
      assert.doesNotMatch(JSON.stringify(b.state()), /p%40ss|pw%2452/);
      assert.equal((await grantTargetPrivileges.check(b.ctx(grantTargetPrivileges))).state, 'satisfied');
      await grantTargetPrivileges.apply(b.ctx(grantTargetPrivileges));
      assert.equal(b.outputs('grant-target-privileges').method, 'none-needed');
      assert.equal((await grantTargetPrivileges.verify(b.ctx(grantTargetPrivileges))).ok, true);
    });

    it('a crash after granting converges: the Runner finds it satisfied and grants nothing again', async () => {
      await revokeWrites(t, make === pgTarget);
      const b = bed({ admin: true });
      assert.equal((await grantTargetPrivileges.check(b.ctx(grantTargetPrivileges))).state, 'pending');
      await grantTargetPrivileges.apply(b.ctx(grantTargetPrivileges, { discardRecords: true }));
      const result = await b.run([grantTargetPrivileges]);
      assertRunOk(result);
      assert.equal(result.results[0]?.outcome, 'adopted');
    });

    it('the DBA path: the printed SQL works when run by an administrator', async () => {
      await revokeWrites(t, make === pgTarget);
      const probe = bed({ admin: false });
      const err = await grantTargetPrivileges.apply(probe.ctx(grantTargetPrivileges)).then(
        () => undefined,
        (e: Error & { actions?: string[] }) => e,
      );
      const sql = (err?.actions?.[0] ?? '').replace(/^Ask a DBA to run on the target:\n/, '');
      for (const statement of sql.split(';\n').map((s) => s.replace(/;$/, '')).filter(Boolean)) await t.admin(statement);
      const b = bed({ admin: false, mode: 'interactive', answers: [] });
      assert.equal((await grantTargetPrivileges.check(b.ctx(grantTargetPrivileges))).state, 'satisfied');
      await t.tryDelete();
    });
  });
}

