import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseWebhookBody, PayloadError, topicTable } from '../../src/replicator/sink/payload.js';
import { parseDataPath } from '../../src/replicator/sink/path.js';
import { TokenAuth, parseTokenFile } from '../../src/replicator/sink/auth.js';
import { ByteJsonScanner } from '../../src/replicator/sink/scan.js';
import { silentLogger } from '../../src/lib/log.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/webhook/${name}`, import.meta.url), 'utf8');

function rows(text: string) {
  const p = parseWebhookBody(text);
  assert.equal(p.kind, 'rows');
  return p.kind === 'rows' ? p.mutations : [];
}

test('F1: one insert, raw after text kept', () => {
  const [m] = rows(fixture('F1-single-insert.json'));
  assert.ok(m);
  assert.equal(m.table, 'employees');
  assert.equal(m.key, '[1]');
  assert.equal(m.after, '{"id":1,"name":"Terry","office":"new york city"}');
  assert.equal(m.hlc.nanos, 1759246921004412000n);
  assert.equal(m.hlc.logical, 0);
  assert.equal(m.before, undefined);
});

test('F2: order kept, logical part exact', () => {
  const ms = rows(fixture('F2-batch.json'));
  assert.deepEqual(
    ms.map((m) => [m.table, m.key, m.hlc.logical]),
    [
      ['employees', '[2]', 0],
      ['employees', '[1]', 0],
      ['employees', '[1]', 1],
      ['payments', '["8d6d2c1e-6a0b-4f6e-9a57-0f8a3f2f1b44"]', 1],
    ],
  );
});

test('F3: delete has after null', () => {
  const [m] = rows(fixture('F3-delete.json'));
  assert.equal(m?.after, null);
});

test('F4 and F6: resolved bodies', () => {
  const p = parseWebhookBody(fixture('F4-resolved.json'));
  assert.deepEqual(p, { kind: 'resolved', hlc: { nanos: 1759246923500000000n, logical: 0 } });
  assert.equal(parseWebhookBody(fixture('F6-resolved.json')).kind, 'resolved');
});

test('F5: before images, composite keys, JSONB and NULLs', () => {
  const ms = rows(fixture('F5-diff-composite.json'));
  assert.equal(ms.length, 3);
  assert.equal(ms[0]?.key, '["rome","d7b18299-c0c4-4304-9ef7-05ae46fd5ee1"]');
  assert.match(ms[0]?.before ?? '', /"status":"available"/);
  assert.equal(ms[1]?.before, null);
  assert.equal(ms[2]?.after, null);
  assert.match(ms[2]?.before ?? '', /"ext":\{\}/);
});

test('F7: mvcc_timestamp is accepted and ignored (unlike MOLT)', () => {
  const [m] = rows(fixture('F7-mvcc-timestamp.json'));
  assert.equal(m?.after, '{"id":1}');
});

test('F7: empty topic, bad resolved, empty body', () => {
  assert.throws(() => parseWebhookBody(fixture('F7-empty-topic.json')), { message: 'table name is empty, please ensure the table name is included in the path' });
  assert.throws(() => parseWebhookBody(fixture('F7-bad-resolved.json')), /logical part "5" must be 10 digits or zero-valued/);
  assert.deepEqual(parseWebhookBody(fixture('F7-empty-body.json')), { kind: 'empty' });
  assert.deepEqual(parseWebhookBody('  \n'), { kind: 'empty' });
  assert.deepEqual(parseWebhookBody('{"payload":[],"length":0}'), { kind: 'empty' });
  assert.deepEqual(parseWebhookBody('{}'), { kind: 'empty' });
  assert.deepEqual(parseWebhookBody('{"resolved":null}'), { kind: 'empty' });
});

test('no silent drops: rows beside a resolved timestamp, or rows under a misspelt field, are a 400', () => {
  const row = '{"after":{"id":1},"key":[1],"topic":"t","updated":"1.0000000001"}';
  assert.throws(() => parseWebhookBody(`{"payload":[${row}],"length":1,"resolved":"2.0000000000"}`), { message: 'a body carries either "payload" or "resolved", not both' });
  assert.throws(() => parseWebhookBody(`{"resolved":"2.0000000000","payload":[${row}]}`), /not both/);
  assert.throws(() => parseWebhookBody(`{"Payload":[${row}],"length":1}`), { message: 'expected a "payload" array or a "resolved" timestamp' });
  assert.deepEqual(parseWebhookBody('{"resolved":"2.0000000000","payload":[],"length":0}').kind, 'resolved', 'an empty payload beside it loses nothing');
});

test('numbers survive exactly: INT8 above 2^53 and decimals', () => {
  const body = '{"payload":[{"after":{"id":1101234051444375553,"amount":125.50,"tiny":1e-30,"big":123456789012345678901234567890.000000001},"key":[1101234051444375553],"topic":"t","updated":"1.0000000001"}],"length":1}';
  const [m] = rows(body);
  assert.equal(m?.key, '[1101234051444375553]');
  assert.equal(m?.after, '{"id":1101234051444375553,"amount":125.50,"tiny":1e-30,"big":123456789012345678901234567890.000000001}');
});

test('qualified and quoted topics keep only the table name', () => {
  assert.equal(topicTable('employees'), 'employees');
  assert.equal(topicTable('db.public.employees'), 'employees');
  assert.equal(topicTable('"db"."public"."odd.name"'), 'odd.name');
  assert.equal(topicTable('db."My ""T"""'), 'My "T"');
});

const bad: Array<[string, string, RegExp]> = [
  ['not JSON', '{"payload":[', /^could not decode payload: /],
  ['array body', '[1,2]', /body must be a JSON object/],
  ['trailing garbage', '{"resolved":"1.0"} x', /could not decode payload: unexpected trailing characters/],
  ['payload not array', '{"payload":{}}', /"payload" must be a JSON array/],
  ['length mismatch', '{"payload":[{"after":null,"key":[1],"topic":"t","updated":"1.0"}],"length":2}', /length 2 does not match the 1 message in payload/],
  ['key not array', '{"payload":[{"after":null,"key":1,"topic":"t","updated":"1.0"}]}', /payload\[0\]: "key" must be a JSON array/],
  ['key empty', '{"payload":[{"after":null,"key":[ ],"topic":"t","updated":"1.0"}]}', /"key" must not be empty/],
  ['key missing', '{"payload":[{"after":null,"topic":"t","updated":"1.0"}]}', /"key" is missing/],
  ['after a string', '{"payload":[{"after":"x","key":[1],"topic":"t","updated":"1.0"}]}', /"after" must be a JSON object or null/],
  ['after missing', '{"payload":[{"key":[1],"topic":"t","updated":"1.0"}]}', /"after" is missing/],
  ['before an array', '{"payload":[{"after":null,"before":[],"key":[1],"topic":"t","updated":"1.0"}]}', /"before" must be a JSON object or null/],
  ['updated missing', '{"payload":[{"after":null,"key":[1],"topic":"t"}]}', /WITH updated/],
  ['updated bad', '{"payload":[{"after":null,"key":[1],"topic":"t","updated":"abc"}]}', /can't parse timestamp "abc"/],
  ['zero time', '{"payload":[{"after":null,"key":[1],"topic":"t","updated":"0.0"}]}', /zero time/],
  ['topic missing', '{"payload":[{"after":null,"key":[1],"updated":"1.0"}]}', /table name is empty/],
  ['message not object', '{"payload":[1]}', /payload\[0\]: each message must be a JSON object/],
  ['bad escape inside after', '{"payload":[{"after":{"a":"\\x"},"key":[1],"topic":"t","updated":"1.0"}]}', /could not decode payload: invalid escape/],
  ['control char', '{"payload":[{"after":{"a":"\u0001"},"key":[1],"topic":"t","updated":"1.0"}]}', /control character/],
  ['bad number', '{"payload":[{"after":{"a":01},"key":[1],"topic":"t","updated":"1.0"}]}', /could not decode payload/],
];
for (const [name, body, expected] of bad) {
  test(`400 reason: ${name}`, () => {
    assert.throws(() => parseWebhookBody(body), (err: unknown) => err instanceof PayloadError && expected.test(err.message));
  });
}

test('rows beside resolved are refused even when malformed; numeric resolved accepted', () => {
  assert.throws(() => parseWebhookBody('{"payload":[{"bogus":1}],"resolved":"5.0"}'), /not both/);
  assert.deepEqual(parseWebhookBody('{"resolved":1759246923500000000.0000000000}'), { kind: 'resolved', hlc: { nanos: 1759246923500000000n, logical: 0 } });
});

test('scanner validates deep nesting without stack overflow', () => {
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  assert.throws(() => new ByteJsonScanner(Buffer.from(deep)).skipValue(), /nested too deeply/);
});

test('paths: segments, decoding, errors', () => {
  assert.deepEqual(parseDataPath('/migration_db/migration_schema', 2), { ok: true, segments: ['migration_db', 'migration_schema'] });
  assert.deepEqual(parseDataPath('//db///public/', 2), { ok: true, segments: ['db', 'public'] });
  assert.deepEqual(parseDataPath('/my%2Fdb/a+b?access_token=x', 2), { ok: true, segments: ['my/db', 'a b'] });
  assert.deepEqual(parseDataPath('/MIGRATION_SCHEMA', 1), { ok: true, segments: ['MIGRATION_SCHEMA'] });
  assert.equal(parseDataPath('/migration_db', 2).ok, false);
  const r = parseDataPath('/migration_db', 2);
  assert.equal(!r.ok && r.reason, 'expecting at least 2 path segments');
  assert.equal(parseDataPath('/db/public/table', 2).ok, false);
  assert.equal(parseDataPath('/%zz', 1).ok, false);
});

test('token file and constant-time check', () => {
  assert.deepEqual(parseTokenFile('# comment\n\n  abc  \r\nBearer def\n'), ['abc', 'def']);
  const dir = mkdtempSync(join(tmpdir(), 'tok-'));
  const file = join(dir, 'tokens');
  writeFileSync(file, 'one\ntwo\n', { mode: 0o600 });
  const auth = new TokenAuth(file, silentLogger());
  assert.equal(auth.load(), 2);
  assert.equal(auth.check('one'), true);
  assert.equal(auth.check('two'), true);
  assert.equal(auth.check('three'), false);
  assert.equal(auth.check(''), false);
  writeFileSync(file, 'three\n');
  auth.reload();
  assert.equal(auth.check('one'), false);
  assert.equal(auth.check('three'), true);
  assert.equal(TokenAuth.extract('Bearer abc', new URLSearchParams('access_token=zzz')), 'abc');
  assert.equal(TokenAuth.extract('Basic abc', new URLSearchParams('access_token=zzz')), '');
  assert.equal(TokenAuth.extract(undefined, new URLSearchParams('access_token=zzz')), 'zzz');
  const off = new TokenAuth(undefined, silentLogger());
  assert.equal(off.mode, 'disabled');
  assert.equal(off.check(''), true);
});
