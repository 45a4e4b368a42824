/**
 * The wizard's config loading: precedence (flags > env > file > defaults), every problem reported at
 * once, missing values listed with where to give them, prompting for what is missing (through streams,
 * as a terminal would), and secrets never appearing in any rendered message.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finalizeConfig, missingInputError } from '../../src/lib/config.js';
import { AppError, ExitCode, renderErrorText } from '../../src/lib/errors.js';
import { FailbackConfigSchema } from '../../src/steps/config.js';
import { collectFailbackSettings, promptForMissing, SETTING_DEFS, settingFlags } from '../../src/steps/settings.js';
import { makeScrubber } from '../../src/steps/scrub.js';

const SECRET = 'Sup3r$ecretPw';
const CRDB = `postgres://root:${encodeURIComponent(SECRET)}@crdb.example:26257/defaultdb`;
const TARGET = `postgres://migrator:${encodeURIComponent(SECRET)}@pg.example:5432/app`;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mf-config-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, data: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof data === 'string' ? data : JSON.stringify(data));
  return p;
}

const load = (flags: Record<string, unknown>, env: Record<string, string> = {}) =>
  finalizeConfig(FailbackConfigSchema, SETTING_DEFS, collectFailbackSettings(flags, env));

/** Every way an error reaches a user: the text renderer (with --debug) and the JSON form. */
function rendered(err: unknown): string {
  assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
  return `${renderErrorText(err, true)}\n${JSON.stringify(err.toJSON())}`;
}

function assertNoSecret(text: string) {
  assert.ok(!text.includes(SECRET), `secret leaked:\n${text}`);
  assert.ok(!text.includes(encodeURIComponent(SECRET)), `encoded secret leaked:\n${text}`);
}

test('flags win over env, env over the config file, the file over defaults', () => {
  const cfg = file('precedence.json', {
    crdb: { conn: CRDB },
    tables: ['from_file'],
    target: { conn: TARGET, schema: 'file.schema' },
    replicator: { bindAddr: ':1111', host: 'file-host' },
    forward: { quietPeriod: '30s' },
  });
  const { config, sources } = load(
    { config: cfg, tables: ['from_flag_a,from_flag_b', 'from_flag_c'], 'bind-addr': ':3333' },
    { MOLT_FAILBACK_TABLES: 'from_env', MOLT_FAILBACK_BIND_ADDR: ':2222', MOLT_FAILBACK_WEBHOOK_HOST: 'env-host' },
  );
  assert.deepEqual(config.tables, ['from_flag_a', 'from_flag_b', 'from_flag_c']);
  assert.equal(config.replicator.bindAddr, ':3333');
  assert.equal(config.replicator.host, 'env-host');
  assert.equal(config.target.schema, 'file.schema');
  assert.equal(config.forward.quietPeriod, '30s');
  assert.equal(config.forward.timeout, '10m', 'default');
  assert.equal(config.staging.schema, 'defaultdb._replicator', 'default');
  assert.deepEqual(sources.tables, { kind: 'flag', name: 'tables' });
  assert.deepEqual(sources['replicator.host'], { kind: 'env', name: 'MOLT_FAILBACK_WEBHOOK_HOST' });
  assert.deepEqual(sources['target.schema'], { kind: 'file', path: cfg });
  assert.deepEqual(sources['forward.timeout'], { kind: 'default' });
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.replicator), 'the config is frozen');
});

test('the config file comes from --config, else MOLT_FAILBACK_CONFIG', () => {
  const a = file('a.json', { tables: ['a'] });
  const b = file('b.json', { tables: ['b'] });
  assert.deepEqual(collectFailbackSettings({ config: a }, { MOLT_FAILBACK_CONFIG: b }).values.tables, ['a']);
  assert.deepEqual(collectFailbackSettings({}, { MOLT_FAILBACK_CONFIG: b }).values.tables, ['b']);
  const missing = collectFailbackSettings({ config: join(dir, 'nope.json') }, {});
  assert.match(missing.problems.join('\n'), /nope\.json does not exist/);
});

test('flags exist for every setting, typed by kind, and advanced ones are grouped', () => {
  const flags = settingFlags();
  for (const def of SETTING_DEFS) assert.ok(flags[def.flag as string], `flag for ${def.key}`);
  assert.equal(flags['tune-rangefeeds']?.type, 'boolean');
  assert.equal(flags['changefeed-resolved']?.helpGroup, 'ADVANCED SETTINGS');
  assert.match(String(flags['crdb-conn']?.description), /MOLT_FAILBACK_CRDB_CONN/);
  assert.match(String(flags['crdb-conn']?.description), /Secret: better given through MOLT_FAILBACK_CRDB_CONN/);
  const { config } = load({ 'crdb-conn': CRDB, 'target-conn': TARGET, tables: ['t'], 'changefeed-extra-options': '{"diff":null}', 'forward-pid': '123', 'tune-rangefeeds': true });
  assert.deepEqual(config.changefeed.extraOptions, { diff: null });
  assert.equal(config.forward.pid, 123);
  assert.equal(config.rangefeed.tune, true);
});

test('every problem is reported at once, each naming its setting and source, never the secret', () => {
  const cfg = file('bad.json', { tables: [], target: { conn: `mysql//migrator:${SECRET}@nowhere` }, surprise: 1 });
  let err: unknown;
  try {
    load(
      { config: cfg, 'forward-pid': 'twelve' },
      { MOLT_FAILBACK_CRDB_CONN: `notaurl:${SECRET}`, MOLT_FAILBACK_TUNE_RANGEFEEDS: 'maybe', MOLT_FAILBACK_STAGING_SCHEMA: 'noschema' },
    );
  } catch (e) {
    err = e;
  }
  const text = rendered(err);
  assertNoSecret(text);
  assert.equal((err as AppError).exitCode, ExitCode.USAGE);
  const problems = (err as AppError).data?.problems as string[];
  const expected = [
    /unknown setting "surprise"/,
    /MOLT_FAILBACK_TUNE_RANGEFEEDS must be true or false/,
    /^crdb\.conn: .*from environment variable MOLT_FAILBACK_CRDB_CONN/,
    /^tables: at least one table is needed/,
    /^target\.conn: .*"target\.conn" in .*bad\.json/,
    /^staging\.schema: must be db\.schema/,
    /^forward\.pid: .*from --forward-pid/,
  ];
  for (const re of expected) assert.ok(problems.some((p) => re.test(p)), `no problem matching ${re}:\n${problems.join('\n')}`);
  assert.match(text, new RegExp(`has ${problems.length} problems`));
});

test('missing values are listed together with their flag, env var and config key', () => {
  const collected = collectFailbackSettings({ tables: ['t'] }, {});
  assert.deepEqual(
    collected.missing.map((d) => d.key),
    ['crdb.conn', 'target.conn'],
  );
  const err = missingInputError(collected.missing);
  assert.equal(err.exitCode, ExitCode.MISSING_INPUT);
  assert.match(err.message, /crdb\.conn: .*--crdb-conn, env MOLT_FAILBACK_CRDB_CONN, "crdb\.conn" in the config file/);
  assert.match(err.message, /target\.conn: .*--target-conn, env MOLT_FAILBACK_TARGET_CONN/);
  // finalize reports them as problems too, without a stray "crdb: expected object" for the parent.
  assert.throws(
    () => load({ tables: ['t'] }),
    (e: AppError) => {
      const problems = e.data?.problems as string[];
      assert.equal(problems.length, 2, problems.join('\n'));
      return true;
    },
  );
});

test('a valid config from env alone never echoes a secret in a later validation error', () => {
  let err: unknown;
  try {
    load({}, { MOLT_FAILBACK_CRDB_CONN: CRDB, MOLT_FAILBACK_TARGET_CONN: TARGET, MOLT_FAILBACK_TABLES: 't', MOLT_FAILBACK_CHANGEFEED_RESOLVED: 'soon' });
  } catch (e) {
    err = e;
  }
  const text = rendered(err);
  assertNoSecret(text);
  assert.match(text, /changefeed\.resolved: must be a duration/);
});

test('the scrubber removes configured secrets from any text', () => {
  const { config } = load({}, { MOLT_FAILBACK_CRDB_CONN: CRDB, MOLT_FAILBACK_TARGET_CONN: TARGET, MOLT_FAILBACK_TABLES: 't' });
  const scrub = makeScrubber(config);
  const out = scrub(`driver said: password authentication failed for ${CRDB} (pw ${SECRET}) and ${encodeURIComponent(SECRET)}`);
  assertNoSecret(out);
  assert.match(out, /root:\*\*\*\*@crdb\.example/);
});

/** Feeds keystrokes to inquirer as a terminal would, one answer after each prompt appears. */
function scriptedIo(answers: string[]) {
  const input = new PassThrough();
  const output = new PassThrough();
  let screen = '';
  let asked = 0;
  output.on('data', (d: Buffer) => {
    screen += d.toString();
    const prompts = (screen.match(/\?/g) ?? []).length;
    while (asked < prompts && asked < answers.length) {
      const answer = answers[asked++] as string;
      setTimeout(() => input.write(`${answer}\r`), 5);
    }
  });
  return { io: { input, output }, screen: () => screen };
}

test('missing values are prompted for; a bad answer is re-asked without echoing it', async () => {
  const collected = collectFailbackSettings({ tables: ['t'] }, {});
  const bad = `nonsense-${SECRET}`;
  const { io, screen } = scriptedIo([bad, CRDB, TARGET]);
  const said: string[] = [];
  await promptForMissing(collected, io, (l) => said.push(l));
  assert.deepEqual(collected.missing, []);
  const { config, sources } = finalizeConfig(FailbackConfigSchema, SETTING_DEFS, collected);
  assert.equal(config.crdb.conn, CRDB);
  assert.equal(config.target.conn, TARGET);
  assert.deepEqual(sources['crdb.conn'], { kind: 'prompt' });
  assert.equal(said.length, 1);
  assert.match(said[0] as string, /crdb\.conn: .*not a valid URL.*Try again/);
  assertNoSecret(said.join('\n'));
  assertNoSecret(screen().replace(/\*+/g, '*'));
});
