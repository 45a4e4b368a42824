// Integration tests of the CockroachDB emulator's SQL surface over a real PostgreSQL backend:
// psql and node-postgres (simple and extended protocol) run emulated and passed-through statements,
// with CockroachDB's output shapes and error texts. CockroachDB itself cannot run here; the emulator
// stands in for it (see "The CockroachDB emulator" in README.md).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import pg from 'pg';
import { startCrdbEmulator, type CrdbEmulator } from '../../src/sandbox/crdb/index.js';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.js';

const PASSWORD = 'p@ss w0rd';
let db: TestDatabase;
let emu: CrdbEmulator;
let client: pg.Client;

before(async () => {
  db = await createPgDatabase('crdb_emulator');
  emu = await startCrdbEmulator({ backend: { url: db.url }, password: PASSWORD, capturePollMs: 20 });
  client = new pg.Client({ connectionString: emu.url });
  await client.connect();
});

after(async () => {
  await client?.end();
  await emu?.stop();
  await db?.drop();
});

const errorOf = async (sql: string, params?: unknown[]) => {
  try {
    await client.query(sql, params);
  } catch (err) {
    return { message: (err as Error).message, code: (err as { code?: string }).code, where: (err as { where?: string }).where };
  }
  assert.fail(`expected an error from: ${sql}`);
};

function runPsql(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('psql', ['-X', '-v', 'ON_ERROR_STOP=0', ...args], { env: { ...process.env, PGSSLMODE: 'disable', ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

test('the connection string names root, defaultdb and the password; SELECT version() looks like CockroachDB', async () => {
  assert.match(emu.url, /^postgres:\/\/root:p%40ss%20w0rd@127\.0\.0\.1:\d+\/defaultdb\?sslmode=disable$/);
  const v = (await client.query('SELECT version()')).rows[0].version as string;
  assert.match(v, /^CockroachDB CCL v25\.4\.\d+ \(/);
  assert.match(v, /molt-failback CockroachDB emulator/);
  assert.match(v, /PostgreSQL 1\d/);
  assert.equal((await client.query('SELECT current_database()')).rows[0].current_database, 'defaultdb');
});

test('passthrough SQL with parameters, multi-statement queries and transactions', async () => {
  await client.query('CREATE TABLE accounts (id INT8 PRIMARY KEY, name STRING NOT NULL, balance DECIMAL(20,2))');
  await client.query('INSERT INTO accounts VALUES ($1, $2, $3), ($4, $5, $6)', ['1101234051444375553', 'big', '125.50', 2, 'two', null]);
  const r = await client.query('SELECT id::text, name, balance::text FROM defaultdb.public.accounts WHERE id = $1', ['1101234051444375553']);
  assert.deepEqual(r.rows, [{ id: '1101234051444375553', name: 'big', balance: '125.50' }]);
  const multi = (await client.query("BEGIN; UPDATE accounts SET name = 'x' WHERE id = 2; SHOW CLUSTER SETTING kv.rangefeed.enabled; SELECT name FROM accounts WHERE id = 2; COMMIT")) as unknown as pg.QueryResult[];
  assert.equal(multi.length, 5);
  assert.deepEqual(multi[2]?.rows, [{ 'kv.rangefeed.enabled': false }]);
  assert.deepEqual(multi[3]?.rows, [{ name: 'x' }]);
  // An error stops the rest of a simple query, as in PostgreSQL and CockroachDB.
  await assert.rejects(client.query("SELECT 1; SET CLUSTER SETTING no.such.setting = 1; UPDATE accounts SET name = 'never'"), /unknown cluster setting 'no\.such\.setting'/);
  assert.equal((await client.query('SELECT name FROM accounts WHERE id = 2')).rows[0].name, 'x');
});

test('cluster settings: CockroachDB defaults, SET/SHOW/RESET, SHOW ALL inside [ ] and WITH', async () => {
  const show = async (name: string) => (await client.query(`SELECT "${name}"::text AS v FROM [SHOW CLUSTER SETTING ${name}]`)).rows[0].v as string;
  assert.equal(await show('kv.rangefeed.enabled'), 'false');
  assert.equal(await show('kv.rangefeed.closed_timestamp_refresh_interval'), '00:00:03');
  assert.equal(await show('kv.closed_timestamp.target_duration'), '00:00:03');
  assert.equal(await show('kv.rangefeed.concurrent_catchup_iterators'), '16');
  assert.equal(await show('changefeed.protect_timestamp.max_age'), '96:00:00');
  assert.equal(await show('changefeed.sink_io_workers'), '0');
  assert.equal(await show('jobs.retention_time'), '336:00:00');

  const set = await client.query("SET CLUSTER SETTING kv.rangefeed.closed_timestamp_refresh_interval = '250ms'");
  assert.equal(set.command, 'SET');
  assert.equal(set.rows.length, 0);
  await client.query("SET CLUSTER SETTING kv.closed_timestamp.target_duration = '1s'");
  await client.query('SET CLUSTER SETTING kv.rangefeed.concurrent_catchup_iterators = $1', ['64']);
  assert.deepEqual((await client.query('SHOW CLUSTER SETTING kv.rangefeed.concurrent_catchup_iterators')).rows, [{ 'kv.rangefeed.concurrent_catchup_iterators': '64' }]);
  assert.equal(await show('kv.closed_timestamp.target_duration'), '00:00:01');
  const all = await client.query('SELECT variable, value, origin FROM [SHOW ALL CLUSTER SETTINGS] WHERE variable = $1', ['kv.rangefeed.closed_timestamp_refresh_interval']);
  assert.deepEqual(all.rows, [{ variable: 'kv.rangefeed.closed_timestamp_refresh_interval', value: '250ms', origin: 'override' }]);
  const cte = await client.query("WITH s AS (SHOW ALL CLUSTER SETTINGS) SELECT value, default_value, origin, setting_type FROM s WHERE variable = 'kv.rangefeed.enabled'");
  assert.deepEqual(cte.rows, [{ value: 'false', default_value: 'false', origin: 'default', setting_type: 'b' }]);
  const cols = (await client.query('SHOW ALL CLUSTER SETTINGS')).fields.map((f) => f.name);
  assert.deepEqual(cols, ['variable', 'value', 'setting_type', 'public', 'description', 'default_value', 'origin']);
  await client.query('RESET CLUSTER SETTING kv.closed_timestamp.target_duration');
  assert.equal(await show('kv.closed_timestamp.target_duration'), '00:00:03');
  const e = await errorOf('SHOW CLUSTER SETTING kv.nope');
  assert.equal(e.message, "unknown cluster setting 'kv.nope'");
  assert.equal(e.where, undefined, 'no PL/pgSQL context leaks out');
  assert.equal((await errorOf("SET CLUSTER SETTING kv.rangefeed.enabled = 'maybe'")).message, 'could not parse "maybe" as type bool: invalid bool value');
});

test('cluster_logical_timestamp() is a DECIMAL HLC above everything committed, strictly increasing', async () => {
  const a = (await client.query('SELECT cluster_logical_timestamp()')).rows[0].cluster_logical_timestamp as string;
  const b = (await client.query('SELECT cluster_logical_timestamp() AS t')).rows[0].t as string;
  assert.match(a, /^\d{19}\.\d{10}$/);
  const [aw, al] = a.split('.').map(BigInt) as [bigint, bigint];
  const [bw, bl] = b.split('.').map(BigInt) as [bigint, bigint];
  assert.ok(bw > aw || (bw === aw && bl > al), `${b} > ${a}`);
  assert.ok(Math.abs(Number(aw / 1_000_000n) - Date.now()) < 60_000, 'wall time is close to now');
  const typ = await client.query('SELECT pg_typeof(cluster_logical_timestamp())::text AS t');
  assert.equal(typ.rows[0].t, 'numeric');
});

test('zone configurations: RANGE default, database and table levels, inheritance, DISCARD', async () => {
  await client.query('CREATE TABLE zoned (id int PRIMARY KEY)');
  const zone = async (sql: string) => (await client.query(sql)).rows[0] as { target: string; raw_config_sql: string };
  const base = await zone('SHOW ZONE CONFIGURATION FROM DATABASE defaultdb');
  assert.deepEqual(base, {
    target: 'RANGE default',
    raw_config_sql:
      "ALTER RANGE default CONFIGURE ZONE USING\n\trange_min_bytes = 134217728,\n\trange_max_bytes = 536870912,\n\tgc.ttlseconds = 14400,\n\tnum_replicas = 3,\n\tconstraints = '[]',\n\tlease_preferences = '[]'",
  });
  const res = await client.query('ALTER DATABASE defaultdb CONFIGURE ZONE USING gc.ttlseconds = 86400');
  assert.equal(res.command, 'CONFIGURE');
  const dbz = await zone('SHOW ZONE CONFIGURATION FROM DATABASE defaultdb');
  assert.equal(dbz.target, 'DATABASE defaultdb');
  assert.match(dbz.raw_config_sql, /^ALTER DATABASE defaultdb CONFIGURE ZONE USING\n\trange_min_bytes = 134217728,\n\trange_max_bytes = 536870912,\n\tgc\.ttlseconds = 86400,/);
  assert.equal((await zone('SHOW ZONE CONFIGURATION FOR TABLE zoned')).target, 'DATABASE defaultdb', 'a table inherits its database zone');
  await client.query('ALTER TABLE zoned CONFIGURE ZONE USING gc.ttlseconds = $1', [600]);
  const tz = await zone('SELECT * FROM [SHOW ZONE CONFIGURATION FROM TABLE defaultdb.public.zoned]');
  assert.equal(tz.target, 'TABLE defaultdb.public.zoned');
  assert.match(tz.raw_config_sql, /^ALTER TABLE defaultdb\.public\.zoned CONFIGURE ZONE USING\n.*\n.*\n\tgc\.ttlseconds = 600,/);
  await client.query('ALTER TABLE zoned CONFIGURE ZONE DISCARD');
  await client.query('ALTER DATABASE defaultdb CONFIGURE ZONE DISCARD');
  assert.equal((await zone('SHOW ZONE CONFIGURATION FOR TABLE zoned')).target, 'RANGE default');
  assert.equal((await errorOf('SHOW ZONE CONFIGURATION FROM TABLE nope')).message, 'relation "nope" does not exist');
});

test('databases: defaultdb and the backend name map to the backend; others do not exist', async () => {
  const r = await client.query('CREATE DATABASE IF NOT EXISTS defaultdb');
  assert.equal(r.command, 'CREATE');
  await client.query('USE defaultdb');
  assert.equal((await errorOf('CREATE DATABASE defaultdb')).message, 'database "defaultdb" already exists');
  const other = new pg.Client({ connectionString: emu.url.replace('/defaultdb?', `/${db.name}?`) });
  await other.connect();
  assert.equal((await other.query('SELECT 1 AS x')).rows[0].x, 1);
  await other.end();
  const missing = new pg.Client({ connectionString: emu.url.replace('/defaultdb?', '/nosuchdb?') });
  await assert.rejects(missing.connect(), /database "nosuchdb" does not exist/);
});

test('authentication: the password is required when set', async () => {
  const bad = new pg.Client({ connectionString: emu.url.replace('p%40ss%20w0rd', 'wrong') });
  await assert.rejects(bad.connect(), (err: Error & { code?: string }) => err.code === '28P01' && /password authentication failed for user root/.test(err.message));
});

test('changefeed creation errors read like CockroachDB', async () => {
  await client.query('CREATE TABLE cf_errors (id int PRIMARY KEY)');
  const sink = 'webhook-https://127.0.0.1:1/db/schema';
  await client.query('SET CLUSTER SETTING kv.rangefeed.enabled = false');
  assert.equal(
    (await errorOf(`CREATE CHANGEFEED FOR TABLE cf_errors INTO '${sink}'`)).message,
    'rangefeeds require the kv.rangefeed.enabled setting. See https://www.cockroachlabs.com/docs/v25.4/create-and-configure-changefeeds.html#enable-rangefeeds',
  );
  await client.query('SET CLUSTER SETTING kv.rangefeed.enabled = true');
  const invalid = await errorOf(`CREATE CHANGEFEED FOR TABLE cf_errors INTO '${sink}' WITH updated, nope = '1'`);
  assert.equal(invalid.message, 'invalid option "nope"');
  assert.equal((await errorOf('CREATE CHANGEFEED FOR TABLE cf_errors INTO $1', ['webhook-http://127.0.0.1:1/db/schema'])).message, 'this sink requires https');
  assert.equal((await errorOf(`CREATE CHANGEFEED FOR TABLE cf_errors INTO '${sink}' WITH envelope = 'key_only'`)).message, 'this sink is incompatible with envelope=key_only');
  assert.equal((await errorOf(`CREATE CHANGEFEED FOR TABLE cf_errors INTO '${sink}?client_cert=Zm9v'`)).message, 'client_cert requires client_key to be set');
  assert.equal((await errorOf(`CREATE CHANGEFEED FOR TABLE cf_errors INTO $1 WITH webhook_sink_config = $2`, [sink, '{"Retry":{"Max":0}}'])).message, "error unmarshalling json: Retry.Max must be a positive integer. use 'inf' for infinite retries.");
  const bad = await errorOf(`CREATE CHANGEFEED FOR TABLE cf_errors INTO '${sink}' WITH webhook_client_timeout = '0s'`);
  assert.deepEqual([bad.message, bad.code], ['option webhook_client_timeout must be a duration greater than 0', '22023']);
  assert.equal((await errorOf(`CREATE CHANGEFEED FOR TABLE nope INTO '${sink}'`)).message, 'failed to resolve targets in the CHANGEFEED stmt: table "nope" does not exist');
  assert.equal((await errorOf(`CREATE CHANGEFEED FOR TABLE cf_errors INTO '${sink}' WITH cursor = 'yesterday-ish'`)).message, 'AS OF SYSTEM TIME: value is neither timestamp, decimal, nor interval');
  // History before capture started (and anything older than gc.ttlseconds) is below the GC threshold.
  const gc = await errorOf(`CREATE CHANGEFEED FOR TABLE cf_errors INTO '${sink}' WITH cursor = '1000000000000000000.0000000000'`);
  assert.match(gc.message, /^batch timestamp 1000000000\.000000000,0 must be after replica GC threshold \d{10}\.\d{9},0$/);
  await client.query('ALTER TABLE cf_errors CONFIGURE ZONE USING gc.ttlseconds = 1');
  const cursor = (await client.query('SELECT cluster_logical_timestamp() AS t')).rows[0].t as string;
  await new Promise((r) => setTimeout(r, 1500));
  const late = await errorOf(`CREATE CHANGEFEED FOR TABLE cf_errors INTO '${sink}' WITH cursor = '${cursor}'`);
  const [w] = cursor.split('.') as [string];
  const expectedTs = `${w.slice(0, 10)}.${w.slice(10)},0`;
  assert.match(late.message, new RegExp(`^batch timestamp ${expectedTs.replace(/\./g, '\\.')} must be after replica GC threshold (\\d{10}\\.\\d{9}),0$`));
  const thr = /threshold (\d+)\.(\d+),0$/.exec(late.message) as RegExpExecArray;
  const thrMs = Number(thr[1]) * 1000 + Number((thr[2] as string).slice(0, 3));
  assert.ok(Math.abs(thrMs - (Date.now() - 1000)) < 5000, 'threshold is about now - gc.ttlseconds');
});

test('jobs: PAUSE / RESUME / CANCEL with CockroachDB statuses, idempotency and errors', async () => {
  await client.query('SET CLUSTER SETTING kv.rangefeed.enabled = true');
  await client.query('CREATE TABLE jobbed (id int PRIMARY KEY)');
  const { rows, fields } = await client.query("CREATE CHANGEFEED FOR TABLE jobbed INTO 'webhook-https://127.0.0.1:1/db/schema' WITH initial_scan = 'no'");
  assert.deepEqual(fields.map((f) => [f.name, f.dataTypeID]), [['job_id', 20]]);
  const id = rows[0].job_id as string;
  assert.match(id, /^\d{18,19}$/);
  assert.ok(BigInt(id) > 2n ** 53n, 'job ids are unique_rowid()-like INT8s above 2^53');
  const status = async () => (await client.query('SELECT status FROM [SHOW CHANGEFEED JOB $1]', [id])).rows[0]?.status as string;
  const waitStatus = async (want: string) => {
    for (let i = 0; i < 200 && (await status()) !== want; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(await status(), want);
  };
  assert.equal(await status(), 'running');
  const cols = (await client.query(`SHOW CHANGEFEED JOB ${id}`)).fields.map((f) => f.name);
  assert.deepEqual(cols, ['job_id', 'description', 'user_name', 'status', 'running_status', 'created', 'started', 'finished', 'modified', 'high_water_timestamp', 'readable_high_water_timestamptz', 'error', 'sink_uri', 'full_table_names', 'topics', 'format']);
  const job = (await client.query('SELECT user_name, full_table_names, topics, format, sink_uri, error FROM [SHOW CHANGEFEED JOBS] WHERE job_id = $1', [id])).rows[0];
  assert.deepEqual(job, { user_name: 'root', full_table_names: ['defaultdb.public.jobbed'], topics: 'jobbed', format: 'json', sink_uri: 'webhook-https://127.0.0.1:1/db/schema', error: '' });

  const paused = await client.query(`PAUSE JOB ${id}`);
  assert.equal(paused.command, 'PAUSE');
  assert.ok(['pause-requested', 'paused'].includes(await status()));
  await waitStatus('paused');
  await client.query('PAUSE JOB $1', [id]); // no-op when already paused
  await client.query(`RESUME JOB ${id}`);
  await waitStatus('running');
  await client.query(`RESUME JOB ${id}`); // no-op when running
  await client.query(`CANCEL JOB ${id}`);
  await waitStatus('canceled');
  await client.query(`CANCEL JOB ${id}`); // CANCEL twice is a no-op
  assert.equal(await status(), 'canceled');
  assert.ok((await client.query('SELECT finished FROM [SHOW CHANGEFEED JOB $1]', [id])).rows[0].finished instanceof Date);
  assert.equal((await errorOf(`RESUME JOB ${id}`)).message, 'job with state canceled cannot be resumed');
  assert.equal((await errorOf(`PAUSE JOB ${id}`)).message, 'job with state canceled cannot be requested to be paused');
  assert.equal((await errorOf('CANCEL JOB 123')).message, 'job with ID 123 does not exist');
  assert.equal((await client.query('SELECT count(*)::int AS n FROM crdb_internal.jobs WHERE job_id = $1', [id])).rows[0].n, 1);
});

test('capture triggers are installed right after DDL, on both protocols, without visible replies', async () => {
  const captured = async (table: string) => {
    await client.query('SELECT cluster_logical_timestamp()'); // stamps everything committed
    return (await client.query(`SELECT count(*)::int AS n FROM _crdb_emulator.events WHERE relid = '${table}'::regclass`)).rows[0].n as number;
  };
  // Simple protocol: the insert in the same query string as the CREATE TABLE is captured.
  const res = (await client.query('CREATE TABLE inline_t (id int PRIMARY KEY); INSERT INTO inline_t VALUES (1)')) as unknown as pg.QueryResult[];
  assert.deepEqual(res.map((r) => r.command), ['CREATE', 'INSERT']);
  assert.equal(await captured('inline_t'), 1);
  // Extended protocol (a named statement): the installer runs after Sync, its replies are swallowed.
  await client.query({ name: 'ddl-ext', text: 'CREATE TABLE ext_t (id int PRIMARY KEY, v text)' });
  await client.query('INSERT INTO ext_t VALUES ($1, $2)', [1, 'x']);
  assert.equal((await client.query('SELECT v FROM ext_t')).rows[0].v, 'x');
  assert.equal(await captured('ext_t'), 1);
  // Tables in emulator schemas are never captured.
  assert.equal((await client.query("SELECT count(*)::int AS n FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE t.tgname = '_crdb_emulator_capture' AND (n.nspname LIKE '\\_%' OR n.nspname = 'crdb_internal')")).rows[0].n, 0);
});

test('psql runs emulated and passed-through statements', async () => {
  await client.query('CREATE TABLE psql_t (id int PRIMARY KEY, v text)');
  await client.query("INSERT INTO psql_t VALUES (1, 'one'), (2, 'two')");
  const url = emu.url.replace(/:[^:@/]*@/, '@'); // password through PGPASSWORD, as a user would
  const { code, out, err } = await runPsql(
    [
      url,
      '-c', 'SELECT version()',
      '-c', 'SHOW CLUSTER SETTING kv.rangefeed.enabled',
      '-c', "SET CLUSTER SETTING kv.rangefeed.closed_timestamp_refresh_interval = '250ms'",
      '-c', "SELECT variable, value, origin FROM [SHOW ALL CLUSTER SETTINGS] WHERE variable = 'kv.rangefeed.closed_timestamp_refresh_interval'",
      '-c', 'SELECT v FROM psql_t ORDER BY id',
      '-c', 'SHOW ZONE CONFIGURATION FROM DATABASE defaultdb',
      '-c', "CREATE CHANGEFEED FOR TABLE psql_t INTO 'webhook-https://127.0.0.1:1/' WITH nope",
      '-c', 'SELECT cluster_logical_timestamp()',
    ],
    { PGPASSWORD: PASSWORD },
  );
  assert.equal(code, 0, 'ON_ERROR_STOP=0: psql reports the error and carries on');
  assert.match(out, /CockroachDB CCL v25\.4/);
  assert.match(out, /kv\.rangefeed\.enabled\s*\n-+\n [tf]\n/);
  assert.match(out, /^SET CLUSTER SETTING$/m);
  assert.match(out, /kv\.rangefeed\.closed_timestamp_refresh_interval \| 250ms\s+\| override/);
  assert.match(out, / one\n two\n/);
  assert.match(out, /RANGE default \| ALTER RANGE default CONFIGURE ZONE USING/);
  assert.match(out, /\d{19}\.\d{10}/);
  assert.match(err, /ERROR: {2}invalid option "nope"/);
  assert.doesNotMatch(err, /CONTEXT|PL\/pgSQL/);
});

test('a CancelRequest reaches the backend session running the query', async () => {
  const victim = new pg.Client({ connectionString: emu.url });
  await victim.connect();
  try {
    const query = new pg.Query('SELECT pg_sleep(30)');
    const done = new Promise<Error | undefined>((resolve) => {
      query.on('error', (err: Error) => resolve(err));
      query.on('end', () => resolve(undefined));
    });
    victim.query(query);
    await new Promise((r) => setTimeout(r, 300));
    const canceller = new pg.Client({ connectionString: emu.url }) as pg.Client & { cancel(c: pg.Client, q: pg.Query): void };
    canceller.cancel(victim, query);
    const err = await done;
    assert.match(err?.message ?? '', /canceling statement due to user request/);
    assert.equal((await victim.query('SELECT 1 AS ok')).rows[0].ok, 1, 'the session survives the cancel');
  } finally {
    await victim.end();
  }
});

test('an emulator can use another emulator as its backend (cleartext password to the backend)', async () => {
  const chained = await startCrdbEmulator({ backend: { url: emu.url }, capturePollMs: 20 });
  try {
    const c = new pg.Client({ connectionString: chained.url });
    await c.connect();
    assert.equal((await c.query('SELECT count(*)::int AS n FROM psql_t')).rows[0].n, 2);
    await c.end();
  } finally {
    await chained.stop();
  }
});
