/**
 * Choosing a dialect from a URL, target schema names, TLS parameters and pool configuration. No
 * database is contacted (the TLS modes used here need no probe).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AppError } from '../../src/lib/errors.js';
import { silentLogger } from '../../src/lib/log.js';
import { dialectByName, dialectForConn } from '../../src/replicator/dialects/index.js';
import { flavorFromVersion, myPoolOptions } from '../../src/replicator/dialects/mysql/driver.js';
import { pgPoolConfig } from '../../src/replicator/dialects/postgres/driver.js';
import { oraclePoolAttributes } from '../../src/replicator/dialects/oracle/driver.js';
import { tlsPlanFromParams } from '../../src/replicator/dialects/shared/tls.js';

const opts = { maxPoolSize: 4, log: silentLogger(), applicationName: 'molt-test' };

describe('dialect selection', () => {
  it('picks the dialect from the URL scheme', () => {
    assert.equal(dialectForConn('postgres://u@h/db').name, 'postgres');
    assert.equal(dialectForConn('postgresql://u@h/db').name, 'postgres');
    assert.equal(dialectForConn('mysql://u@h/db').name, 'mysql');
    assert.equal(dialectForConn('oracle://u@h:1521/SVC').name, 'oracle');
    assert.equal(dialectByName('mysql'), dialectForConn('mysql://u@h/db'));
  });
  it('rejects other schemes without echoing the URL', () => {
    assert.throws(
      () => dialectForConn('sqlserver://sa:hunter2@h/db'),
      (e: unknown) => e instanceof AppError && e.code === 'CONN_SCHEME' && !e.message.includes('hunter2'),
    );
    assert.throws(() => dialectForConn('not a url'), (e: unknown) => e instanceof AppError && e.code === 'CONN_INVALID');
  });
  it('names target schemas as the webhook path does', () => {
    const pg = dialectByName('postgres');
    assert.deepEqual(pg.schemaFromPath(['Migration_DB', 'Public']), { parts: ['Migration_DB', 'Public'], key: 'migration_db.public' });
    assert.throws(() => pg.schemaFromPath(['onlyone']), AppError);
    assert.deepEqual(dialectByName('mysql').schemaFromPath(['molt']), { parts: ['molt'], key: 'molt' });
    assert.throws(() => dialectByName('oracle').schemaFromPath(['A', 'B']), AppError);
    assert.equal(pg.schemaPathSegments, 2);
    assert.equal(dialectByName('oracle').schemaPathSegments, 1);
  });
  it('defaults the target schema from the connection string', () => {
    assert.deepEqual(dialectByName('postgres').defaultSchema('postgres://u@h/molt').parts, ['molt', 'public']);
    assert.deepEqual(dialectByName('mysql').defaultSchema('mysql://u@h/molt').parts, ['molt']);
    assert.throws(() => dialectByName('mysql').defaultSchema('mysql://u@h'), AppError);
    assert.deepEqual(dialectByName('oracle').defaultSchema('oracle://C%23%23MIGRATION_user:pw@h:1521/ORCLPDB1').parts, ['C##MIGRATION_USER']);
  });
});

describe('MySQL flavour', () => {
  it('MariaDB keeps VALUES(); MySQL 8.0.19+ uses a row alias', () => {
    assert.deepEqual(flavorFromVersion('10.11.19-MariaDB-0+deb12u1'), { flavor: 'mariadb', upsertStyle: 'values-function' });
    assert.deepEqual(flavorFromVersion('8.0.18'), { flavor: 'mysql', upsertStyle: 'values-function' });
    assert.deepEqual(flavorFromVersion('8.0.19'), { flavor: 'mysql', upsertStyle: 'row-alias' });
    assert.deepEqual(flavorFromVersion('8.4.3'), { flavor: 'mysql', upsertStyle: 'row-alias' });
    assert.deepEqual(flavorFromVersion('5.7.44-log'), { flavor: 'mysql', upsertStyle: 'values-function' });
  });
});

describe('TLS parameters (libpq style)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'molt-tls-'));
  writeFileSync(join(dir, 'ca.crt'), 'CA');
  writeFileSync(join(dir, 'client.crt'), 'CERT');
  writeFileSync(join(dir, 'client.key'), 'KEY');
  const params = (q: string) => new URLSearchParams(q);

  it('maps each sslmode', () => {
    assert.equal(tlsPlanFromParams(params('sslmode=disable'), 'prefer').first, undefined);
    assert.deepEqual(tlsPlanFromParams(params('sslmode=require'), 'disable').first, {
      ca: undefined,
      cert: undefined,
      key: undefined,
      verifyChain: false,
      verifyHost: false,
    });
    const full = tlsPlanFromParams(params(`sslmode=verify-full&sslrootcert=${dir}/ca.crt&sslcert=${dir}/client.crt&sslkey=${dir}/client.key`), 'disable');
    assert.equal(full.first?.verifyHost, true);
    assert.equal(full.first?.ca?.toString(), 'CA');
    assert.equal(full.first?.key?.toString(), 'KEY');
    const ca = tlsPlanFromParams(params(`sslmode=verify-ca&sslrootcert=${dir}/ca.crt`), 'disable');
    assert.deepEqual([ca.first?.verifyChain, ca.first?.verifyHost], [true, false]);
    // libpq: require plus a root certificate verifies the chain.
    assert.equal(tlsPlanFromParams(params(`sslmode=require&sslrootcert=${dir}/ca.crt`), 'disable').mode, 'verify-ca');
    assert.equal(tlsPlanFromParams(params('sslmode=prefer'), 'disable').fallback, 'none');
    assert.equal(tlsPlanFromParams(params(''), 'disable').mode, 'disable');
  });
  it('reports a bad mode or an unreadable file by name, never by content', () => {
    assert.throws(() => tlsPlanFromParams(params('sslmode=sometimes'), 'disable'), (e: unknown) => e instanceof AppError && e.code === 'CONN_SSLMODE');
    assert.throws(
      () => tlsPlanFromParams(params('sslmode=verify-full&sslrootcert=/nonexistent/ca.pem'), 'disable'),
      (e: unknown) => e instanceof AppError && e.code === 'CONN_TLS_FILE' && e.message.includes('sslrootcert'),
    );
  });

  it('MySQL URLs with the runbook-style TLS params become mysql2 ssl options', async () => {
    const url = `mysql://user:p%40ss@localhost:3307/molt?sslcert=${encodeURIComponent(`${dir}/client.crt`)}&sslkey=${encodeURIComponent(`${dir}/client.key`)}&sslmode=verify-full&sslrootcert=${encodeURIComponent(`${dir}/ca.crt`)}`;
    const o = await myPoolOptions(url, opts);
    assert.equal(o.password, 'p@ss');
    assert.equal(o.port, 3307);
    assert.equal(o.database, 'molt');
    assert.equal(o.connectionLimit, 4);
    const ssl = o.ssl as { ca: Buffer; cert: Buffer; key: Buffer; rejectUnauthorized: boolean; verifyIdentity: boolean };
    assert.deepEqual([ssl.ca.toString(), ssl.cert.toString(), ssl.key.toString()], ['CA', 'CERT', 'KEY']);
    assert.deepEqual([ssl.rejectUnauthorized, ssl.verifyIdentity], [true, true]);
    assert.deepEqual(o.connectAttributes, { program_name: 'molt-test' });
    assert.equal((await myPoolOptions('mysql://u@h/db', opts)).ssl, undefined);
  });

  it('PostgreSQL: sslmode=require means encryption without verification (libpq), not verify-full', async () => {
    const c = await pgPoolConfig('postgres://u:pw@db.example.com:5433/molt?sslmode=require&application_name=mine', opts);
    assert.deepEqual([c.host, c.port, c.database, c.password, c.max], ['db.example.com', 5433, 'molt', 'pw', 4]);
    assert.equal((c.ssl as { rejectUnauthorized: boolean }).rejectUnauthorized, false);
    assert.equal(c.application_name, 'mine');
    assert.equal((await pgPoolConfig('postgres://u@h/db', opts)).ssl, false);
    assert.equal((await pgPoolConfig('postgres://u@h/db', opts)).application_name, 'molt-test');
  });
});

describe('Oracle pool attributes', () => {
  it('builds an Easy Connect string and a safe program name', () => {
    const a = oraclePoolAttributes('oracle://C%23%23MIGRATION_USER:pa%24s@db.example.com:1522/ORCLPDB1?ssl_server_dn_match=true', {
      ...opts,
      applicationName: 'molt failback (test)',
    });
    assert.equal(a.user, 'C##MIGRATION_USER');
    assert.equal(a.password, 'pa$s');
    assert.equal(a.connectString, 'db.example.com:1522/ORCLPDB1?ssl_server_dn_match=true');
    assert.equal(a.poolMin, 0);
    assert.equal(a.poolMax, 4);
    assert.equal(a.program, 'molt_failback__test_');
  });
});
