/**
 * Unit tests for the runbook steps' pure helpers: Prometheus parsing, durations, the sink URI and its
 * certificate encoding, the CREATE CHANGEFEED builder, GC arithmetic, drain tracking, job matching,
 * error diagnosis and the engine command line / fingerprint.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createChangefeedSql, changefeedOptions } from '../../src/steps/lib/changefeed-sql.js';
import { compatible, sourceClass } from '../../src/steps/lib/columns.js';
import { parseGcTtl, setClusterSettingSql, splitTableName } from '../../src/steps/lib/crdb.js';
import { DrainTracker } from '../../src/steps/lib/drain.js';
import { durationMs, formatMs, sameDuration } from '../../src/steps/lib/durations.js';
import { checkExtraFlags, engineLaunch, localUrl, sourceKeyColumnsFlag, STAGING_CONN_ENV, TARGET_CONN_ENV } from '../../src/steps/lib/engine.js';
import { gcGuidance, gcVerdict } from '../../src/steps/lib/gc.js';
import { jobFromRow, matchJobs } from '../../src/steps/lib/jobs.js';
import { appliedBySchema, engineSnapshot } from '../../src/steps/lib/metrics.js';
import { parsePrometheusText } from '../../src/steps/lib/prometheus.js';
import { buildSinkUri, encodeSinkParam, parseSinkUri, redactSinkText, sameSink, webhookPath } from '../../src/steps/lib/sink-uri.js';
import { quoteIdent, quoteLiteral } from '../../src/steps/lib/sql.js';
import { diagnose } from '../../src/steps/lib/troubleshoot.js';
import { testConfig } from '../helpers/step-harness.js';

const F11 = `# TYPE apply_upserts_total counter
apply_upserts_total{schema="migration_db.migration_schema",table="employees"} 1042
apply_upserts_total{schema="migration_db.migration_schema",table="orders"} 8
apply_deletes_total{schema="migration_db.migration_schema",table="employees"} 17
# TYPE core_source_lag_seconds gauge
core_source_lag_seconds 0.41
target_applied_timestamp_seconds{schema="migration_db.migration_schema"} 1.7592469235e+09
target_pending_timestamp_seconds{schema="migration_db.migration_schema"} 1.7592469236e+09
http_status_codes_total{code="200"} 12
http_status_codes_total{code="400"} 2
checkpoint_proposed_going_backwards_errors_total 0
weird{a="x\\"y",b="line\\nbreak"} +Inf
`;

describe('prometheus parsing', () => {
  it('reads samples, labels with escapes and special values', () => {
    const s = parsePrometheusText(F11);
    assert.equal(s.length, 10);
    const weird = s.find((x) => x.name === 'weird');
    assert.deepEqual(weird?.labels, { a: 'x"y', b: 'line\nbreak' });
    assert.equal(weird?.value, Number.POSITIVE_INFINITY);
  });
  it('sums upserts and deletes per schema (facts F11)', () => {
    assert.deepEqual(Object.fromEntries(appliedBySchema(parsePrometheusText(F11))), { 'migration_db.migration_schema': 1067 });
  });
  it('tolerates old names and the old target label', () => {
    const old = 'apply_upserts{target="db.public",table="t"} 5\ncore_sweep_apply_count{schema="x"} 3\n';
    assert.deepEqual(Object.fromEntries(appliedBySchema(parsePrometheusText(old))), { 'db.public': 5 });
    const fallback = 'core_sweep_mutations_applied_total{schema="x"} 3\n';
    assert.deepEqual(Object.fromEntries(appliedBySchema(parsePrometheusText(fallback))), { x: 3 });
  });
  it('builds an engine snapshot', () => {
    const snap = engineSnapshot(F11, 1000);
    assert.equal(snap.http200, 12);
    assert.equal(snap.httpErrors, 2);
    assert.equal(snap.applied['migration_db.migration_schema'], 1759246923.5);
    assert.equal(snap.sourceLagSeconds, 0.41);
    assert.equal(snap.rows['migration_db.migration_schema'], 1067);
  });
  it('names the line of a malformed sample', () => {
    assert.throws(() => parsePrometheusText('ok 1\nbad{x="1" 2\n'), /line 2/);
  });
});

describe('durations', () => {
  it('normalises the shapes CockroachDB and node-postgres return', () => {
    assert.equal(durationMs('00:00:01'), 1000);
    assert.equal(durationMs('00:00:00.25'), 250);
    assert.equal(durationMs('120:00:00'), 432_000_000);
    assert.equal(durationMs('250ms'), 250);
    assert.equal(durationMs({ seconds: 3 }), 3000);
    assert.equal(durationMs({ milliseconds: 250 }), 250);
    assert.equal(durationMs({}), 0);
    assert.equal(durationMs('1 day 02:00:00'), 93_600_000);
    assert.equal(durationMs('nonsense'), undefined);
    assert.ok(sameDuration('00:00:01', '1s'));
    assert.ok(!sameDuration('00:00:03', '1s'));
    assert.equal(formatMs(250), '250ms');
    assert.equal(formatMs(90_000), '1m30s');
  });
});

describe('sink URI', () => {
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB+/==\n-----END CERTIFICATE-----\n';
  it('encodes base64 without wraps, then percent-encodes +, / and =', () => {
    const enc = encodeSinkParam(pem);
    assert.equal(enc, encodeURIComponent(Buffer.from(pem).toString('base64')));
    assert.doesNotMatch(enc, /[+/=\n]/);
    assert.equal(Buffer.from(decodeURIComponent(enc), 'base64').toString(), pem);
  });
  it('uses the dialect path: /db/schema, /db, /SCHEMA upper case, each segment percent-encoded', () => {
    assert.equal(webhookPath('postgres', { parts: ['migration_db', 'migration_schema'], key: 'x' }), '/migration_db/migration_schema');
    assert.equal(webhookPath('mysql', { parts: ['migration_db'], key: 'x' }), '/migration_db');
    assert.equal(webhookPath('oracle', { parts: ['migration_schema'], key: 'x' }), '/MIGRATION_SCHEMA');
    assert.equal(webhookPath('postgres', { parts: ['my db', 'a/b'], key: 'x' }), '/my%20db/a%2Fb');
  });
  it('builds, redacts and parses back', () => {
    const loc = { host: 'replicator-host', port: 30004, path: '/migration_db/migration_schema' };
    const uri = buildSinkUri(loc, { caCertPem: pem, clientCertPem: pem, clientKeyPem: 'KEY' });
    assert.match(uri, /^webhook-https:\/\/replicator-host:30004\/migration_db\/migration_schema\?client_cert=[^&]+&client_key=[^&]+&ca_cert=[^&]+$/);
    const red = buildSinkUri(loc, { caCertPem: pem, clientCertPem: pem, clientKeyPem: 'KEY' }, { redact: true });
    assert.equal(red, 'webhook-https://replicator-host:30004/migration_db/migration_schema?client_cert=****&client_key=****&ca_cert=****');
    assert.ok(sameSink(parseSinkUri(uri)!, loc));
    assert.ok(sameSink(parseSinkUri('webhook-https://REPLICATOR-HOST:30004/migration_db/migration_schema?client_key=redacted')!, loc));
    assert.ok(!sameSink(parseSinkUri('webhook-https://replicator-host:30004/migration_db/other')!, loc));
    assert.deepEqual(parseSinkUri('webhook-https://[::1]:30004/db'), { host: '::1', port: 30004, path: '/db' });
    assert.equal(parseSinkUri('kafka://x:9092'), undefined);
  });
  it('redacts certificates, tokens and auth headers in free text', () => {
    const t = redactSinkText(`INTO 'webhook-https://h:1/d?client_key=QUJD&ca_cert=REVG' WITH webhook_auth_header = 'Bearer abc.def', x = 'Bearer zzz'`);
    assert.doesNotMatch(t, /QUJD|REVG|abc\.def|zzz/);
    assert.match(t, /webhook_auth_header = 'Bearer \*\*\*\*'/);
  });
});

describe('CREATE CHANGEFEED builder', () => {
  const config = testConfig({ changefeed: { extraOptions: { diff: null, webhook_client_timeout: '20s' } } });
  const inputs = {
    tables: [['public', 'employees'], ['public', "we'ird"]],
    sink: { host: 'replicator-host', port: 30004, path: '/migration_db/migration_schema' },
    tls: { caCertPem: 'CA', clientCertPem: 'CERT', clientKeyPem: 'KEY' },
    cursor: '1759246920563173000.0000000000',
    token: 'tok.en',
  };
  it('renders the runbook statement with the token and encoded certificates', () => {
    const sql = createChangefeedSql(config, inputs);
    assert.equal(
      sql,
      `CREATE CHANGEFEED FOR TABLE "public"."employees", "public"."we'ird" INTO 'webhook-https://replicator-host:30004/migration_db/migration_schema?client_cert=${encodeSinkParam('CERT')}&client_key=${encodeSinkParam('KEY')}&ca_cert=${encodeSinkParam('CA')}' WITH updated, resolved = '250ms', min_checkpoint_frequency = '250ms', initial_scan = 'no', cursor = '1759246920563173000.0000000000', webhook_sink_config = '{"Flush":{"Bytes":1048576,"Frequency":"1s"}}', webhook_client_timeout = '20s', webhook_auth_header = 'Bearer tok.en', diff`,
    );
  });
  it('redacts the token, key and certificates', () => {
    const sql = createChangefeedSql(config, inputs, { redact: true });
    assert.match(sql, /client_cert=\*\*\*\*&client_key=\*\*\*\*&ca_cert=\*\*\*\*/);
    assert.match(sql, /webhook_auth_header = 'Bearer \*\*\*\*'/);
    assert.doesNotMatch(sql, /tok\.en|S0VZ/);
  });
  it('quotes literals and identifiers', () => {
    assert.equal(quoteLiteral("it's"), "'it''s'");
    assert.equal(quoteIdent('a"b'), '"a""b"');
    assert.equal(setClusterSettingSql('kv.closed_timestamp.target_duration', '1s'), "SET CLUSTER SETTING kv.closed_timestamp.target_duration = '1s'");
    assert.throws(() => changefeedOptions(testConfig({ changefeed: { extraOptions: { 'x; DROP': null } } }), '1.0', undefined, false));
  });
});

describe('GC arithmetic', () => {
  it('reads gc.ttlseconds from raw_config_sql', () => {
    assert.equal(parseGcTtl('ALTER DATABASE defaultdb CONFIGURE ZONE USING\n\trange_min_bytes = 134217728,\n\tgc.ttlseconds = 86400,\n\tnum_replicas = 3'), 86400);
    assert.equal(parseGcTtl('nothing'), undefined);
  });
  it('judges a cursor against the TTL on the cluster clock', () => {
    const now = '1759246920563173000.0000000000';
    assert.equal(gcVerdict('1759246920563173000.0000000000', now, 14400).state, 'ok');
    assert.equal(gcVerdict('1759234320563173000.0000000000', now, 14400).state, 'tight'); // 3.5h old of 4h
    assert.equal(gcVerdict('1759231000000000000.0000000000', now, 14400).state, 'expired');
    assert.equal(gcVerdict('1759246990000000000.0000000000', now, 14400).state, 'future');
    assert.match(gcGuidance('defaultdb', 100)[0] as string, /ALTER DATABASE "defaultdb" CONFIGURE ZONE USING gc\.ttlseconds = 86400/);
  });
});

describe('drain tracking', () => {
  it('is drained only after the counters stay unchanged for the quiet window', () => {
    const t = new DrainTracker(10_000);
    t.add({ at: 0, rows: new Map([['s', 100]]) });
    t.add({ at: 2000, rows: new Map([['s', 120]]) });
    assert.equal(t.status()[0]?.rate, 10);
    assert.equal(t.drained(), false);
    t.add({ at: 8000, rows: new Map([['s', 120]]) });
    assert.equal(t.drained(), false);
    t.add({ at: 12_000, rows: new Map([['s', 120]]) });
    assert.equal(t.drained(), true);
  });
  it('restarts the window when a counter resets or a new schema appears', () => {
    const t = new DrainTracker(5000);
    t.add({ at: 0, rows: new Map([['s', 100]]) });
    t.add({ at: 6000, rows: new Map([['s', 3]]) });
    assert.equal(t.drained(), false);
    t.add({ at: 11_000, rows: new Map([['s', 3], ['t', 1]]) });
    assert.equal(t.drained(), false);
    t.add({ at: 16_000, rows: new Map([['s', 3], ['t', 1]]) });
    assert.equal(t.drained(), true);
  });
  it('treats an endpoint without apply counters as quiet', () => {
    const t = new DrainTracker(1000);
    t.add({ at: 0, rows: new Map() });
    t.add({ at: 1000, rows: new Map() });
    assert.equal(t.drained(), true);
  });
});

describe('changefeed jobs', () => {
  const sink = { host: 'replicator-host', port: 30004, path: '/migration_db/migration_schema' };
  const row = (id: string, status: string, uri: string, tables: string[] | string) => jobFromRow({ job_id: id, status, running_status: '', high_water_timestamp: null, error: '', sink_uri: uri, full_table_names: tables, description: '' });
  it('adopts ours and flags others aimed at the same replicator', () => {
    const jobs = [
      row('1', 'running', 'webhook-https://replicator-host:30004/migration_db/migration_schema?client_key=redacted', ['defaultdb.public.employees', 'defaultdb.public.orders']),
      row('2', 'paused', 'webhook-https://replicator-host:30004/other_db/public', ['defaultdb.public.x']),
      row('3', 'canceled', 'webhook-https://replicator-host:30004/migration_db/migration_schema', ['defaultdb.public.employees']),
      row('4', 'running', 'webhook-https://elsewhere:30004/migration_db/migration_schema', '{defaultdb.public.employees}'),
      row('5', 'running', 'webhook-https://replicator-host:30004/migration_db/migration_schema', ['defaultdb.public.employees']),
    ];
    const m = matchJobs(jobs, sink, ['public.orders', 'public.employees']);
    assert.deepEqual(m.ours.map((j) => j.jobId), ['1']);
    assert.deepEqual(m.conflicting.map((j) => j.jobId), ['2', '5']);
  });
  it('keeps INT8 and DECIMAL values as text', () => {
    const j = jobFromRow({ job_id: '1101234051444375553', status: 'running', high_water_timestamp: '1759246923500000000.0000000000' });
    assert.equal(j.jobId, '1101234051444375553');
    assert.equal(j.highWater, '1759246923500000000.0000000000');
  });
});

describe('troubleshooting', () => {
  const c = { endpoint: 'replicator-host:30004', path: '/migration_db/migration_schema', pathShape: '/database/schema', database: 'defaultdb' };
  it('maps the runbook errors (facts F8)', () => {
    assert.equal(diagnose('transient error: Post "https://replicator-host:30004/migration_db/migration_schema": dial tcp 10.0.0.12:30004: connect: connection refused', c).kind, 'connection-refused');
    assert.equal(diagnose('transient error: 400 Bad Request: unknown schema: "migration_db"."wrong_schema"', c).kind, 'unknown-schema');
    assert.equal(diagnose('batch timestamp 1759160520.563173000,0 must be after replica GC threshold 1759232520.000000000,0', c).kind, 'gc-threshold');
    assert.equal(diagnose('401 Unauthorized: missing or invalid access token', c).kind, 'unauthorized');
    assert.equal(diagnose('context deadline exceeded (Client.Timeout exceeded while awaiting headers)', c).kind, 'timeout');
    assert.equal(diagnose('rangefeeds require the kv.rangefeed.enabled setting. See https://...', c).kind, 'rangefeeds-disabled');
    assert.equal(diagnose('x509: certificate is valid for localhost, not replicator-host', c).kind, 'tls');
  });
});

describe('engine command line', () => {
  const tls = { serverCert: '/s/tls/server.crt', serverKey: '/s/tls/server.key' };
  it('passes MOLT flags plus ours, secrets only in env, and a stable fingerprint', () => {
    const config = testConfig({ target: { conn: 'postgres://u:secret@h/db' } });
    const a = engineLaunch(config, { tls, tokenFile: '/s/replicator.token', token: 't1', sourceKeyColumns: { orders: ['b', 'a'] } });
    assert.deepEqual(a.args.slice(0, 4), ['replicator', 'start', '--stagingSchema', 'defaultdb._replicator']);
    assert.ok(a.args.includes('--authTokenFile'));
    assert.deepEqual(a.args.slice(a.args.indexOf('--sourceKeyColumns'), a.args.indexOf('--sourceKeyColumns') + 2), ['--sourceKeyColumns', 'orders=b,a']);
    assert.equal(a.args[a.args.length - 2], '--fingerprint');
    assert.doesNotMatch(a.display, /secret/);
    assert.equal(a.env[TARGET_CONN_ENV], 'postgres://u:secret@h/db');
    assert.equal(a.env[STAGING_CONN_ENV], config.crdb.conn);
    const same = engineLaunch(config, { tls, tokenFile: '/s/replicator.token', token: 't1', sourceKeyColumns: { orders: ['b', 'a'] } });
    assert.equal(same.fingerprint, a.fingerprint);
    const otherPw = engineLaunch(testConfig({ target: { conn: 'postgres://u:other@h/db' } }), { tls, tokenFile: '/s/replicator.token', token: 't1', sourceKeyColumns: { orders: ['b', 'a'] } });
    assert.notEqual(otherPw.fingerprint, a.fingerprint);
    assert.equal(sourceKeyColumnsFlag({ b: ['x'], a: ['y', 'z'] }), 'a=y,z;b=x');
  });
  it('refuses connection strings and our own flags in extraFlags', () => {
    assert.equal(checkExtraFlags(['--targetConn=postgres://x']).problems.length, 1);
    assert.equal(checkExtraFlags(['--parallelism', '8']).problems.length, 0);
    assert.equal(checkExtraFlags(['--disableAuthentication']).warnings.length, 1);
    assert.throws(() => engineLaunch(testConfig({ replicator: { extraFlags: ['--stagingConn', 'x'] } }), { tls, tokenFile: 'f', token: 't' }), /never on the command line/);
  });
  it('probes wildcard listen addresses on loopback', () => {
    assert.equal(localUrl(':30005', 'm'), 'http://127.0.0.1:30005');
    assert.equal(localUrl('0.0.0.0:1', 'm'), 'http://127.0.0.1:1');
    assert.equal(localUrl('[::1]:2', 'm'), 'http://[::1]:2');
  });
});

describe('column compatibility and names', () => {
  it('classifies CockroachDB types and judges target classes', () => {
    assert.equal(sourceClass('INT8'), 'int');
    assert.equal(sourceClass('STRING'), 'text');
    assert.equal(sourceClass('character varying'), 'text');
    assert.equal(sourceClass('TIMESTAMPTZ'), 'timestamptz');
    assert.equal(sourceClass('timestamp without time zone'), 'timestamp');
    assert.equal(sourceClass('JSONB'), 'json');
    assert.equal(sourceClass('STRING[]'), 'array');
    assert.equal(compatible('int', 'decimal').level, 'ok');
    assert.equal(compatible('text', 'int').level, 'fail');
    assert.equal(compatible('int', 'float').level, 'warn');
    assert.equal(compatible('uuid', 'text').level, 'ok');
    assert.deepEqual(splitTableName('public.orders'), { schema: 'public', table: 'orders' });
    assert.deepEqual(splitTableName('orders'), { schema: undefined, table: 'orders' });
  });
});

