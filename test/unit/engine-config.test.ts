import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINE_SETTINGS, effectiveParallelism, engineEnvName, parseEngineConfig, parseSourceKeyColumns, stagingSchemaParts, UNSUPPORTED_MOLT_FLAGS } from '../../src/replicator/config.js';
import { Registry } from 'prom-client';
import { EngineMetrics } from '../../src/replicator/metrics.js';

const base = { targetConn: 'postgres://u:secretpw@h:5432/db', disableAuthentication: true };

test('env names are MOLT_FAILBACK_REPLICATOR_<UPPER_SNAKE>', () => {
  assert.equal(engineEnvName('targetConn'), 'MOLT_FAILBACK_REPLICATOR_TARGET_CONN');
  assert.equal(engineEnvName('tlsClientCa'), 'MOLT_FAILBACK_REPLICATOR_TLS_CLIENT_CA');
  assert.equal(engineEnvName('testCrashAfterCommit'), 'MOLT_FAILBACK_REPLICATOR_TEST_CRASH_AFTER_COMMIT');
  for (const d of ENGINE_SETTINGS) assert.equal(d.env, engineEnvName(d.key));
});

test('MOLT defaults', () => {
  const c = parseEngineConfig(base);
  assert.equal(c.bindAddr, ':26258');
  assert.equal(c.stagingSchema, '_replicator.public');
  assert.equal(c.parallelism, 16);
  assert.equal(c.flushSize, 1000);
  assert.equal(c.flushPeriod, '1s');
  assert.equal(c.scanSize, 10000);
  assert.equal(c.quiescentPeriod, '10s');
  assert.equal(c.targetMaxPoolSize, 128);
  assert.equal(c.collapseMutations, true);
  assert.equal(c.gracePeriod, '30s');
  assert.equal(c.applyTimeout, '30s');
  assert.equal(c.maxRetries, 10);
  assert.equal(c.retryInitialBackoff, '25ms');
  assert.equal(c.retryMaxBackoff, '2s');
  assert.equal(c.retryMultiplier, 2);
  assert.equal(c.httpResponseTimeout, '2m');
  assert.equal(c.verbose, 0);
  assert.equal(c.testCrashAfterCommit, false);
  assert.ok(Object.isFrozen(c));
});

test('env values are read, flags win over env', () => {
  const c = parseEngineConfig({ parallelism: 4 }, { env: { MOLT_FAILBACK_REPLICATOR_TARGET_CONN: 'mysql://u:p@h/db', MOLT_FAILBACK_REPLICATOR_STAGING_CONN: 'postgres://s@h/x', MOLT_FAILBACK_REPLICATOR_PARALLELISM: '8', MOLT_FAILBACK_REPLICATOR_DISABLE_AUTHENTICATION: 'true', MOLT_FAILBACK_REPLICATOR_TEST_CRASH_AFTER_COMMIT: '1' } });
  assert.equal(c.targetConn, 'mysql://u:p@h/db');
  assert.equal(c.parallelism, 4);
  assert.equal(c.testCrashAfterCommit, true);
});

test('every problem reported at once, secrets never echoed', () => {
  try {
    parseEngineConfig({ targetConn: 'mysql://u:secretpw@h/db', tlsCertificate: 'c.pem', tlsSelfSigned: true, flushSize: 0, flushPeriod: 'soon', logFormat: 'text', sourceKeyColumns: 'bad' });
    assert.fail('expected an error');
  } catch (err) {
    const m = (err as Error).message;
    assert.match(m, /either both of tlsCertificate and tlsPrivateKey must be set, or none/);
    assert.match(m, /self-signed certificate requested, but also specified a TLS certificate/);
    assert.match(m, /authTokenFile/);
    assert.match(m, /flushSize/);
    assert.match(m, /flushPeriod/);
    assert.match(m, /text is not supported/);
    assert.match(m, /sourceKeyColumns entry "bad"/);
    assert.match(m, /stagingConn: is required when targetConn is not a postgres/);
    assert.doesNotMatch(m, /secretpw/);
  }
});

test('sourceKeyColumns, staging schema parts, effective parallelism', () => {
  assert.deepEqual([...parseSourceKeyColumns('Vehicles=city, id ; rides=id')], [
    ['vehicles', ['city', 'id']],
    ['rides', ['id']],
  ]);
  assert.throws(() => parseSourceKeyColumns('a=x;A=y'), /twice/);
  assert.deepEqual(stagingSchemaParts('_replicator'), { database: '_replicator', schema: 'public' });
  assert.deepEqual(stagingSchemaParts('defaultdb._replicator'), { database: 'defaultdb', schema: '_replicator' });
  assert.equal(effectiveParallelism({ parallelism: 16, targetMaxPoolSize: 128 }), 16);
  assert.equal(effectiveParallelism({ parallelism: 16, targetMaxPoolSize: 10 }), 8);
  assert.equal(effectiveParallelism({ parallelism: 16, targetMaxPoolSize: 2 }), 1);
});

test('unsupported MOLT flags are listed with a reason, and none collides with a setting', () => {
  const keys = new Set(ENGINE_SETTINGS.map((d) => d.key));
  for (const u of UNSUPPORTED_MOLT_FLAGS) {
    assert.ok(!keys.has(u.name), u.name);
    assert.ok(u.reason.length > 10);
  }
  for (const name of ['userscript', 'immediate', 'bestEffortOnly']) assert.ok(UNSUPPORTED_MOLT_FLAGS.some((u) => u.name === name));
});

test('two metric sets on separate registries do not collide', async () => {
  const a = new EngineMetrics(new Registry(), { version: 't' });
  const b = new EngineMetrics(new Registry(), { version: 't' });
  a.applyUpserts.inc({ schema: 's', table: 't' }, 2);
  assert.match(await a.registry.metrics(), /apply_upserts_total\{schema="s",table="t"\} 2/);
  assert.doesNotMatch(await b.registry.metrics(), /apply_upserts_total\{/);
});
