/**
 * preflight against the CockroachDB emulator (over real PostgreSQL) as the source and real PostgreSQL
 * and MariaDB targets: matching tables pass and record CockroachDB's key order; every mismatch is a
 * problem naming the table and column; a non-CockroachDB source is refused by its version string.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { silentLogger } from '../../../src/lib/log.js';
import { preflight } from '../../../src/steps/preflight.js';
import { createServices } from '../../../src/steps/services-impl.js';
import { PreflightOutputs } from '../../../src/steps/lib/outputs.js';
import { startCrdbWorld, targetDatabase, type CrdbWorld } from '../../helpers/crdb-bed.js';
import type { TestDatabase } from '../../helpers/databases.js';
import { assertRunOk, testConfig, TestBed } from '../../helpers/step-harness.js';

let w: CrdbWorld;
let pgTarget: TestDatabase;
let myTarget: TestDatabase;
const beds: TestBed[] = [];

before(async () => {
  w = await startCrdbWorld('preflight_steps');
  await w.sql('CREATE TABLE employees (id INT8 PRIMARY KEY, name STRING, office STRING)');
  await w.sql('CREATE TABLE orders (a INT8, b INT8, total DECIMAL, PRIMARY KEY (b, a))');
  await w.sql('CREATE TABLE mism (id INT8 PRIMARY KEY, qty STRING, extra STRING)');
  pgTarget = await targetDatabase('postgres', 'preflight_steps');
  const c = new pg.Client({ connectionString: pgTarget.url });
  await c.connect();
  await c.query(`CREATE TABLE employees (id BIGINT PRIMARY KEY, name TEXT, office VARCHAR(64));
                 CREATE TABLE orders (a INT, b INT, total NUMERIC(12,2), PRIMARY KEY (a, b));
                 CREATE TABLE mism (id BIGINT, qty INT, must TEXT NOT NULL, PRIMARY KEY (id, qty))`);
  await c.end();
  myTarget = await targetDatabase('mariadb', 'preflight_steps');
  const m = await mysql.createConnection({ uri: myTarget.url, multipleStatements: true });
  await m.query('CREATE TABLE employees (id BIGINT PRIMARY KEY, name TEXT, office VARCHAR(64)); CREATE TABLE orders (a INT, b INT, total DECIMAL(12,2), PRIMARY KEY (a, b))');
  await m.end();
});
after(async () => {
  for (const b of beds) await b.close();
  await w.close();
  await pgTarget.drop();
  await myTarget.drop();
});

function bed(overrides: Parameters<typeof testConfig>[0]): TestBed {
  const config = testConfig({ crdb: { conn: w.emu.url }, ...overrides });
  const b = new TestBed({ config, services: createServices(config, silentLogger()) });
  beds.push(b);
  return b;
}

describe('preflight', () => {
  for (const kind of ['PostgreSQL', 'MariaDB'] as const) {
    it(`passes for matching tables on a ${kind} target and records CockroachDB's key order; idempotent; crash converges`, async () => {
      const b = bed({ tables: ['employees', 'orders'], target: { conn: kind === 'PostgreSQL' ? pgTarget.url : myTarget.url } });
      const fresh = await preflight.check(b.ctx(preflight));
      assert.equal(fresh.state, 'pending', fresh.detail);
      await preflight.apply(b.ctx(preflight, { discardRecords: true }));
      assert.deepEqual(b.outputs('preflight'), {});
      assertRunOk(await b.run([preflight]));
      const out = PreflightOutputs.parse(b.outputs('preflight'));
      assert.match(out.crdbVersion, /^CockroachDB CCL v/);
      assert.equal(out.targetDialect, kind === 'PostgreSQL' ? 'postgres' : 'mysql');
      assert.deepEqual(out.tables, ['public.employees', 'public.orders']);
      assert.deepEqual(out.sourceKeys['public.orders'], ['b', 'a']);
      assert.deepEqual(out.sourceKeyColumns, { orders: ['b', 'a'] }, 'only the table whose key order differs');
      assert.equal((await preflight.check(b.ctx(preflight))).state, 'satisfied');
      await preflight.apply(b.ctx(preflight));
      assert.equal(PreflightOutputs.parse(b.outputs('preflight')).digest, out.digest, 'apply twice equals once');
      assert.equal((await preflight.verify(b.ctx(preflight))).ok, true);
      assert.doesNotMatch(JSON.stringify(b.state()), /password/);
    });
  }

  it('names the table and column of every mismatch and says what to fix', async () => {
    const b = bed({ tables: ['mism', 'employees', 'nosuch'], target: { conn: pgTarget.url } });
    const c = await preflight.check(b.ctx(preflight));
    assert.equal(c.state, 'blocked');
    assert.match(c.detail, /nosuch/);
    const b2 = bed({ tables: ['mism'], target: { conn: pgTarget.url } });
    const c2 = await preflight.check(b2.ctx(preflight));
    assert.equal(c2.state, 'blocked');
    assert.match(c2.detail, /public\.mism: primary key differs: CockroachDB \(id\) vs target mism \(id, qty\)/);
    assert.match(c2.detail, /public\.mism\.qty: CockroachDB type \w+ does not fit target type integer/);
    assert.match(c2.detail, /public\.mism\.extra exists on CockroachDB but not in target table mism/);
    assert.match(c2.detail, /Target column mism\.must is NOT NULL without a default/);
    assert.ok(c2.actions?.some((a) => /Add column extra to mism on the target/.test(a)));
  });

  it('refuses a source that is not CockroachDB, by its version string', async () => {
    const b = bed({ crdb: { conn: pgTarget.url }, tables: ['employees'], target: { conn: pgTarget.url } });
    const c = await preflight.check(b.ctx(preflight));
    assert.equal(c.state, 'blocked');
    assert.match(c.detail, /answers as "PostgreSQL 15[^"]*", which is not CockroachDB/);
    assert.ok(c.actions?.some((a) => /--crdb-conn/.test(a)));
  });

  it('reports a missing target schema, an unreachable forward endpoint and a local-only webhook host', async () => {
    const b = bed({ tables: ['employees'], target: { conn: pgTarget.url, schema: `${pgTarget.name}.nope` }, forward: { metricsUrl: 'http://127.0.0.1:9/_/varz' } });
    const c = await preflight.check(b.ctx(preflight));
    assert.equal(c.state, 'blocked');
    assert.match(c.detail, /Target schema \S+\.nope does not exist/);
    assert.match(c.detail, /Forward replicator metrics: GET http:\/\/127\.0\.0\.1:9\/_\/varz: connection refused/);
  });

  it('requires an existing staging schema when creating it is turned off', async () => {
    const b = bed({ tables: ['employees'], target: { conn: pgTarget.url }, staging: { schema: 'defaultdb._nostaging', createSchema: false } });
    const c = await preflight.check(b.ctx(preflight));
    assert.equal(c.state, 'blocked');
    assert.match(c.detail, /Staging schema defaultdb\._nostaging does not exist/);
  });

  it('notes what grant-target-privileges will grant to a user lacking write privileges', async () => {
    const admin = new pg.Client({ connectionString: pgTarget.url });
    await admin.connect();
    await admin.query(`DROP USER IF EXISTS pf_reader; CREATE USER pf_reader LOGIN PASSWORD 'secret-pw'; GRANT USAGE ON SCHEMA public TO pf_reader; GRANT SELECT ON employees TO pf_reader`);
    try {
      const url = new URL(pgTarget.url);
      url.username = 'pf_reader';
      url.password = 'secret-pw';
      const b = bed({ tables: ['employees'], target: { conn: url.toString() } });
      await preflight.apply(b.ctx(preflight));
      const out = PreflightOutputs.parse(b.outputs('preflight'));
      assert.deepEqual(out.missingPrivileges, { employees: ['INSERT', 'UPDATE', 'DELETE'] });
      assert.ok(b.texts('info').some((t) => /pf_reader lacks INSERT\/UPDATE\/DELETE on employees: grant-target-privileges will print the GRANT statements/.test(t)));
      assert.doesNotMatch(JSON.stringify(b.state()) + b.texts().join(), /secret-pw/);
    } finally {
      await admin.query(`DROP OWNED BY pf_reader; DROP USER pf_reader`);
      await admin.end();
    }
  });
});
