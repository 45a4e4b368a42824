// Unit tests of the CockroachDB emulator's SQL handling: tokenizer, statement splitter, rewriter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitStatements } from '../../src/sandbox/crdb/sql/split.js';
import { tokenize } from '../../src/sandbox/crdb/sql/lexer.js';
import { rewriteStatement, type RewriteContext } from '../../src/sandbox/crdb/sql/rewrite.js';
import { substituteParams } from '../../src/sandbox/crdb/sql/params.js';

const ctx: RewriteContext = { user: 'root', databaseNames: new Set(['defaultdb', 'postgres', 'backend_db']) };
const rw = (sql: string) => {
  const [s] = splitStatements(sql);
  assert.ok(s, 'one statement');
  return rewriteStatement(s.text, s.tokens, ctx);
};

test('splits at top-level semicolons only', () => {
  const sql = `SELECT 'a;b'; SELECT $$x;y$$; SELECT $tag$ ; $tag$; -- c;d
SELECT "q;x" /* e; /* nested; */ f; */ FROM t;;  ;SELECT E'it\\'s;'`;
  const parts = splitStatements(sql).map((s) => s.text.trim());
  assert.deepEqual(parts, [
    "SELECT 'a;b'",
    'SELECT $$x;y$$',
    'SELECT $tag$ ; $tag$',
    '-- c;d\nSELECT "q;x" /* e; /* nested; */ f; */ FROM t',
    "SELECT E'it\\'s;'",
  ]);
});

test('keeps BEGIN ATOMIC bodies together', () => {
  const sql = 'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END; SELECT 3';
  const parts = splitStatements(sql).map((s) => s.text.trim());
  assert.equal(parts.length, 2);
  assert.match(parts[0] as string, /END$/);
  assert.equal(parts[1], 'SELECT 3');
});

test('statement tokens index into the statement text', () => {
  const [, second] = splitStatements('SELECT 1; SELECT version()');
  assert.ok(second);
  const v = second.tokens.find((t) => t.upper === 'VERSION');
  assert.ok(v);
  assert.equal(second.text.slice(v.start, v.end), 'version');
});

test('passthrough statements are untouched', () => {
  for (const sql of ['SELECT * FROM employees WHERE id = $1', "INSERT INTO t VALUES (1, 'version()')", 'UPDATE t SET v = v + 1']) {
    const r = rw(sql);
    assert.equal(r.sql, sql);
    assert.equal(r.emulated, false);
    assert.equal(r.ddl, false);
  }
});

test('inline rewrites: builtins, defaultdb qualifier, [SHOW ...], (SHOW ...), STRING columns', () => {
  assert.equal(rw('SELECT version()').sql, 'SELECT _crdb_emulator.version()');
  assert.equal(rw('SELECT pg_catalog.version()').sql, 'SELECT pg_catalog.version()');
  assert.equal(rw('SELECT cluster_logical_timestamp()').sql, 'SELECT _crdb_emulator.cluster_logical_timestamp()');
  assert.equal(rw('SELECT * FROM defaultdb.public.t').sql, 'SELECT * FROM public.t');
  assert.equal(rw('SELECT * FROM defaultdb.t').sql, 'SELECT * FROM t');
  const show = rw("SELECT value FROM [SHOW ALL CLUSTER SETTINGS] WHERE variable = $1").sql;
  assert.match(show, /^SELECT value FROM \(SELECT variable, value, .* FROM _crdb_emulator\.cluster_settings ORDER BY variable\) AS _crdb_show_1 WHERE variable = \$1$/);
  const aliased = rw('SELECT j.status FROM [SHOW CHANGEFEED JOB $1] AS j').sql;
  assert.match(aliased, /\) AS j$/);
  assert.doesNotMatch(aliased, /_crdb_show_/);
  assert.match(rw('WITH x AS (SHOW CHANGEFEED JOBS) SELECT job_id FROM x').sql, /^WITH x AS \(SELECT job_id, description, .* FROM _crdb_emulator\.changefeed_jobs .*\) SELECT job_id FROM x$/);
  const ddl = rw('CREATE TABLE t (id INT8 PRIMARY KEY DEFAULT unique_rowid(), s STRING, b BYTES)');
  assert.equal(ddl.ddl, true);
  assert.equal(ddl.sql, 'CREATE TABLE t (id INT8 PRIMARY KEY DEFAULT _crdb_emulator.unique_rowid(), s text, b bytea)');
});

test('cluster settings', () => {
  const set = rw('SET CLUSTER SETTING kv.rangefeed.enabled = true');
  assert.equal(set.sql, "CALL _crdb_emulator.set_cluster_setting('kv.rangefeed.enabled', 'true', NULL)");
  assert.deepEqual(set.action, { kind: 'retag', tag: 'SET CLUSTER SETTING' });
  assert.equal(rw("SET CLUSTER SETTING kv.rangefeed.closed_timestamp_refresh_interval = '250ms'").sql, "CALL _crdb_emulator.set_cluster_setting('kv.rangefeed.closed_timestamp_refresh_interval', '250ms', 250000)");
  assert.equal(rw("SET CLUSTER SETTING kv.closed_timestamp.target_duration TO '00:00:01'").sql, "CALL _crdb_emulator.set_cluster_setting('kv.closed_timestamp.target_duration', '1s', 1000000)");
  assert.equal(rw('SET CLUSTER SETTING kv.rangefeed.concurrent_catchup_iterators = 64').sql, "CALL _crdb_emulator.set_cluster_setting('kv.rangefeed.concurrent_catchup_iterators', '64', NULL)");
  assert.equal(rw('RESET CLUSTER SETTING kv.rangefeed.enabled').sql, "CALL _crdb_emulator.reset_cluster_setting('kv.rangefeed.enabled')");
  assert.equal(rw('SET CLUSTER SETTING kv.rangefeed.enabled = DEFAULT').sql, "CALL _crdb_emulator.reset_cluster_setting('kv.rangefeed.enabled')");
  assert.equal(rw('SET CLUSTER SETTING no.such = 1').sql, "CALL _crdb_emulator.raise('XXUUU', 'unknown cluster setting ''no.such''')");
  assert.match(rw("SET CLUSTER SETTING kv.rangefeed.enabled = 'maybe'").sql, /could not parse "maybe" as type bool/);
  assert.equal(rw('SHOW CLUSTER SETTING kv.rangefeed.enabled').sql, `SELECT _crdb_emulator.setting_text('kv.rangefeed.enabled')::boolean AS "kv.rangefeed.enabled"`);
  assert.equal(rw('SHOW CLUSTER SETTING kv.closed_timestamp.target_duration').sql, `SELECT _crdb_emulator.setting_interval('kv.closed_timestamp.target_duration') AS "kv.closed_timestamp.target_duration"`);
  const deferred = rw('SET CLUSTER SETTING kv.rangefeed.enabled = $1');
  assert.equal(deferred.deferred, 'setting');
  assert.equal(deferred.sql, 'CALL _crdb_emulator.exec_deferred($1::text)');
});

test('jobs', () => {
  const p = rw('PAUSE JOB 1101234051444375553');
  assert.equal(p.sql, "SELECT _crdb_emulator.control_jobs('pause', ARRAY[(1101234051444375553)::int8])");
  assert.deepEqual(p.action, { kind: 'countTag', prefix: 'PAUSE JOBS' });
  assert.deepEqual(p.describe, { kind: 'noData' });
  assert.equal(rw("CANCEL JOB $1 WITH REASON = 'done'").sql, "SELECT _crdb_emulator.control_jobs('cancel', ARRAY[($1)::int8])");
  assert.equal(rw('RESUME ALL CHANGEFEED JOBS').sql, "SELECT _crdb_emulator.control_jobs('resume', _crdb_emulator.all_jobs_for('resume', 'CHANGEFEED'))");
  assert.match(rw('PAUSE JOBS (SELECT job_id FROM [SHOW CHANGEFEED JOBS])').sql, /^SELECT _crdb_emulator\.control_jobs\('pause', \(SELECT COALESCE\(array_agg\(v::int8\), '\{\}'\) FROM \(SELECT job_id FROM \(SELECT job_id, .* FROM _crdb_emulator\.changefeed_jobs .*\) AS _crdb_show_1\) AS _crdb_ids\(v\)\)\)$/);
  assert.match(rw('SHOW CHANGEFEED JOB 42').sql, /FROM _crdb_emulator\.changefeed_jobs WHERE job_id = \(42\)::int8$/);
});

test('zones', () => {
  assert.equal(
    rw('ALTER DATABASE defaultdb CONFIGURE ZONE USING gc.ttlseconds = 86400').sql,
    "CALL _crdb_emulator.configure_zone('DATABASE', 'defaultdb', NULL, jsonb_build_object('gc.ttlseconds', (86400)::int8), ARRAY[]::text[])",
  );
  assert.match(rw('ALTER TABLE public.t CONFIGURE ZONE USING gc.ttlseconds = $1, num_replicas = 1').sql, /zone_table_name\('"public"\."t"', 'public\.t'\), to_regclass\('"public"\."t"'\)::oid, jsonb_build_object\('gc\.ttlseconds', \(\$1\)::int8, 'num_replicas', \(1\)::int8\)/);
  assert.equal(rw('ALTER RANGE default CONFIGURE ZONE DISCARD').sql, "CALL _crdb_emulator.discard_zone('RANGE', 'default')");
  assert.equal(rw('ALTER DATABASE other CONFIGURE ZONE USING gc.ttlseconds = 1').sql, `CALL _crdb_emulator.raise('3D000', 'database "other" does not exist')`);
  assert.match(rw('SHOW ZONE CONFIGURATION FROM DATABASE defaultdb').sql, /show_zone\('DATABASE', 'defaultdb'\)/);
  assert.match(rw('SHOW ZONE CONFIGURATION FOR TABLE defaultdb.public.t').sql, /show_zone\('TABLE', _crdb_emulator\.zone_table_name\('"public"\."t"', 'defaultdb\.public\.t'\)\)/);
  assert.match(rw('SHOW ZONE CONFIGURATION FROM RANGE default').sql, /show_zone\('RANGE', 'default'\)/);
});

test('databases and session variables', () => {
  assert.deepEqual(rw('CREATE DATABASE IF NOT EXISTS defaultdb').action, { kind: 'retag', tag: 'CREATE DATABASE' });
  assert.match(rw('CREATE DATABASE defaultdb').sql, /42P04/);
  assert.match(rw('CREATE DATABASE IF NOT EXISTS _replicator').sql, /serves a single database/);
  assert.equal(rw('USE defaultdb').sql, 'CALL _crdb_emulator.noop()');
  assert.equal(rw('SET sql_safe_updates = false').sql, 'CALL _crdb_emulator.noop()');
  assert.equal(rw("SET application_name = 'x'").sql, "SET application_name = 'x'");
});

test('CREATE CHANGEFEED: spec and errors', () => {
  const r = rw(
    "CREATE CHANGEFEED FOR TABLE employees, defaultdb.public.payments INTO 'webhook-https://h:30004/db/sch?insecure_tls_skip_verify=true' WITH updated, resolved = '250ms', min_checkpoint_frequency = '250ms', initial_scan = 'no', cursor = '1759246920563173000.0000000000', webhook_auth_header = 'Bearer abc'",
  );
  const m = /create_changefeed\('(.*)'::jsonb\)$/s.exec(r.sql);
  assert.ok(m, r.sql);
  const spec = JSON.parse((m[1] as string).replace(/''/g, "'"));
  assert.deepEqual(spec.targets, [
    { name: '"employees"', display: 'employees' },
    { name: '"public"."payments"', display: 'defaultdb.public.payments' },
  ]);
  assert.deepEqual(spec.cursor, { wall: '1759246920563173000', logical: 0 });
  assert.equal(spec.initial_scan, 'no');
  assert.equal(spec.sink_error, null);
  assert.equal(spec.options.authHeader, 'Bearer abc');
  assert.equal(
    spec.description,
    "CREATE CHANGEFEED FOR TABLE employees, defaultdb.public.payments INTO 'webhook-https://h:30004/db/sch?insecure_tls_skip_verify=true' WITH OPTIONS (cursor = '1759246920563173000.0000000000', initial_scan = 'no', min_checkpoint_frequency = '250ms', resolved = '250ms', updated, webhook_auth_header = 'redacted')",
  );
  assert.equal(rw("CREATE CHANGEFEED FOR t INTO 'webhook-https://h/' WITH nope").sql, `CALL _crdb_emulator.raise('XXUUU', 'invalid option "nope"')`);
  assert.match(rw('CREATE CHANGEFEED FOR TABLE').sql, /'42601', 'at or near "EOF": syntax error'/);
  const deferred = rw('CREATE CHANGEFEED FOR TABLE t INTO $1 WITH cursor = $2');
  assert.equal(deferred.deferred, 'job');
});

test('placeholder substitution for deferred statements', () => {
  const text = substituteParams("CREATE CHANGEFEED FOR t INTO $1 WITH cursor = $2, x = '$1'", [Buffer.from("webhook-https://h/p?a=it's"), Buffer.from('1.0')], [], []);
  assert.equal(text, "CREATE CHANGEFEED FOR t INTO 'webhook-https://h/p?a=it''s' WITH cursor = '1.0', x = '$1'");
  const bin = Buffer.alloc(8);
  bin.writeBigInt64BE(1101234051444375553n);
  assert.equal(substituteParams('PAUSE JOB $1', [bin], [1], [20]), "PAUSE JOB '1101234051444375553'");
  assert.equal(tokenize("a $1 '$2'").filter((t) => t.type === 'param').length, 1);
});
