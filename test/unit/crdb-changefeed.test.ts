// Unit tests of the emulator's CREATE CHANGEFEED validation (CockroachDB's rules and texts), the
// webhook sink URI and config, Go durations, exact JSON, the encoder and fault injection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate } from 'selfsigned';
import { validateChangefeed, ChangefeedError, parseCursorText, type RawOption } from '../../src/sandbox/crdb/changefeed/options.js';
import { parseSinkConfig, SinkConfigError } from '../../src/sandbox/crdb/changefeed/sink-config.js';
import { parseSinkUri, redactSinkUri, webhookTarget } from '../../src/sandbox/crdb/changefeed/sink-uri.js';
import { formatGoDuration, parseGoDuration } from '../../src/sandbox/crdb/util/go-duration.js';
import { normalizeJsonText, parseRawJson, rawToPlain } from '../../src/sandbox/crdb/util/raw-json.js';
import { encodeMessage, batchBody, resolvedBody } from '../../src/sandbox/crdb/feeds/encoder.js';
import { FaultState } from '../../src/sandbox/crdb/feeds/faults.js';
import { Batcher } from '../../src/sandbox/crdb/feeds/batcher.js';
import { goTransportText } from '../../src/sandbox/crdb/feeds/webhook.js';
import type { FeedRuntimeOptions } from '../../src/sandbox/crdb/changefeed/options.js';

const SINK = 'webhook-https://replicator-host:30004/migration_db/migration_schema';
const opts = (s: string): RawOption[] =>
  s
    ? s.split(/,\s*(?=[a-z_]+(?:\s*=|,|$))/).map((kv) => {
        const i = kv.indexOf('=');
        return i < 0 ? { key: kv.trim(), value: null } : { key: kv.slice(0, i).trim(), value: kv.slice(i + 1).trim().replace(/^'|'$/g, '') };
      })
    : [];
const validate = (o: string, sink: string | null = SINK) => validateChangefeed({ targets: ['employees'], sinkUri: sink, options: opts(o) });
const immediate = (o: string, sink?: string) => {
  try {
    validate(o, sink);
  } catch (err) {
    assert.ok(err instanceof ChangefeedError);
    return err.message;
  }
  return undefined;
};
const sinkError = (o: string, sink?: string) => validate(o, sink).sinkError?.message;

test('option names and values fail with CockroachDB texts', () => {
  assert.equal(immediate('nope'), 'invalid option "nope"');
  assert.equal(immediate('cursor'), 'option "cursor" requires a value');
  assert.equal(immediate("updated = 'yes'"), 'option "updated" does not take a value');
  assert.equal(immediate("envelope = 'key_only2'"), "unknown envelope: key_only2, valid values are 'row', 'key_only', 'wrapped', 'deprecated_row', 'bare',  and 'enriched'");
  assert.equal(immediate("initial_scan = 'maybe'"), "unknown initial_scan: maybe, valid values are 'yes', 'no',  and 'only'");
  assert.equal(immediate("on_error = 'x'"), "unknown on_error: x, valid values are 'pause' and 'fail'");
  assert.equal(immediate("resolved = 'abc'"), 'problem parsing option resolved: time: invalid duration "abc"');
  assert.equal(immediate("webhook_client_timeout = '0.5'"), 'problem parsing option webhook_client_timeout: time: missing unit in duration "0.5"');
  assert.equal(immediate("webhook_client_timeout = '0s'"), 'option webhook_client_timeout must be a duration greater than 0');
  assert.equal(immediate("webhook_client_timeout = '-500s'"), "negative durations are not accepted: webhook_client_timeout='-500s'");
  assert.equal(immediate("initial_scan = 'only', resolved"), "cannot specify both initial_scan='only' and resolved");
  assert.equal(immediate("format = 'csv'"), 'format=csv is only usable with initial_scan_only');
  assert.equal(immediate('unordered, resolved'), 'unordered is not usable with resolved because resolved timestamps cannot be guaranteed to be correct in unordered mode');
  assert.equal(immediate("cursor = '123.12345678901'"), 'AS OF SYSTEM TIME: logical part has too many digits');
  assert.equal(immediate("cursor = '0'"), 'AS OF SYSTEM TIME: zero timestamp is invalid');
  assert.equal(immediate("envelope = 'row', format = 'avro'"), 'envelope=row is not supported with format=avro');
});

test('sink problems are reported after the rangefeed check, with CockroachDB texts', () => {
  assert.equal(sinkError('', 'webhook-http://h/p'), 'this sink requires https');
  assert.equal(sinkError("envelope = 'key_only'"), 'this sink is incompatible with envelope=key_only');
  assert.equal(sinkError("format = 'avro'"), 'this sink is incompatible with format=avro');
  assert.equal(sinkError("kafka_sink_config = '{}'"), 'this sink is incompatible with option kafka_sink_config');
  assert.equal(sinkError('', `${SINK}?insecure_tls_skip_verify=foo`), 'param insecure_tls_skip_verify must be a bool: strconv.ParseBool: parsing "foo": invalid syntax');
  assert.equal(sinkError('', `${SINK}?ca_cert=?`), 'param ca_cert must be base 64 encoded: illegal base64 data at input byte 0');
  assert.equal(sinkError('', `${SINK}?ca_cert=Zm9v`), 'failed to parse certificate data:foo');
  assert.equal(sinkError('', `${SINK}?client_cert=Zm9v`), 'client_cert requires client_key to be set');
  assert.equal(sinkError('', `${SINK}?client_key=Zm9v`), 'client_key requires client_cert to be set');
  assert.equal(sinkError('', `${SINK}?client_cert=Zm9v&client_key=Zm9v`), 'invalid client certificate data provided: tls: failed to find any PEM data in certificate input');
  assert.equal(sinkError(`webhook_sink_config = '{"Flush": {"Messages": 100}}'`), 'invalid sink config, Flush.Frequency is not set, messages may never be sent');
  assert.equal(sinkError(`webhook_sink_config = '{"Flush": {"Messages": -100, "Frequency": "1s"}}'`), 'invalid sink config, all values must be non-negative');
  assert.equal(sinkError(''), undefined);
  assert.equal(validate('', 'kafka://broker:9092').sinkError?.message, 'the CockroachDB emulator supports only webhook sinks (webhook-https://...), not kafka');
});

test('webhook_sink_config semantics', () => {
  assert.deepEqual(parseSinkConfig(undefined), { messages: 0, bytes: 0, frequencyNs: 0n, retryMax: 3, backoffNs: 500_000_000n });
  const c = parseSinkConfig('{"Flush":{"Bytes":1048576,"Frequency":"1s"},"Retry":{"Max":"inf","Backoff":"10ms"}}');
  assert.deepEqual(c, { messages: 0, bytes: 1048576, frequencyNs: 1_000_000_000n, retryMax: null, backoffNs: 10_000_000n });
  assert.equal(parseSinkConfig('{"flush":{"messages":5,"frequency":"2s"}}').messages, 5, 'field names match case-insensitively, like Go');
  const err = (s: string) => {
    try {
      parseSinkConfig(s);
    } catch (e) {
      assert.ok(e instanceof SinkConfigError);
      return e.message;
    }
    return undefined;
  };
  assert.equal(err('{"Retry": {"Max": 0}}'), "error unmarshalling json: Retry.Max must be a positive integer. use 'inf' for infinite retries.");
  assert.equal(err('{"Retry": {"Max": "not valid"}}'), "error unmarshalling json: Retry.Max must be either a positive int or 'inf' for infinite retries.");
  assert.equal(err('{"Flush": {"Frequency": "Zm9v"}}'), 'error unmarshalling json: time: invalid duration "Zm9v"');
  assert.match(err('not json') as string, /^error unmarshalling json: invalid character/);
  assert.match(err('{"Flush": {"Messages": "1234", "Frequency": "3s"}}') as string, /Flush\.Messages of type int$/);
});

test('sink URI: TLS parameters validated and stripped, other parameters kept, client_key redacted', async () => {
  const ca = await generate([{ name: 'commonName', value: 'ca' }], { algorithm: 'sha256', keySize: 2048 });
  const b64 = (s: string) => encodeURIComponent(Buffer.from(s).toString('base64'));
  const uri = `${SINK}?ca_cert=${b64(ca.cert)}&client_cert=${b64(ca.cert)}&client_key=${b64(ca.private)}&insecure_tls_skip_verify=true&access_token=t0k`;
  const t = webhookTarget(parseSinkUri(uri).url);
  assert.equal(t.requestUrl, 'https://replicator-host:30004/migration_db/migration_schema?access_token=t0k');
  assert.equal(t.skipVerify, true);
  assert.equal(t.caPem, ca.cert);
  const red = redactSinkUri(uri);
  assert.match(red, /client_key=redacted/);
  assert.doesNotMatch(red, new RegExp(b64(ca.private).slice(0, 40)));
  assert.match(red, /access_token=t0k/, 'CockroachDB does not hide other parameters');
});

test('resolved vs min_checkpoint_frequency notice', () => {
  assert.deepEqual(validate("resolved = '10s'").notices, [
    'resolved (10s) messages will not be emitted more frequently than the default min_checkpoint_frequency (30s), but may be emitted less frequently',
  ]);
  assert.deepEqual(validate('resolved').notices, [
    'resolved (0s by default) messages will not be emitted more frequently than the default min_checkpoint_frequency (30s), but may be emitted less frequently',
  ]);
  assert.deepEqual(validate("resolved = '250ms', min_checkpoint_frequency = '250ms'").notices, []);
});

test('defaults: initial scan without cursor, none with one; runtime options', () => {
  assert.equal(validate('').initialScan, 'yes');
  assert.equal(validate("cursor = '1759246920563173000.0000000000'").initialScan, 'no');
  assert.equal(validate("cursor = '1759246920563173000.0000000000', initial_scan = 'yes'").initialScan, 'yes');
  assert.equal(validate('initial_scan').initialScan, 'yes');
  const v = validate("updated, diff, resolved = '1s', min_checkpoint_frequency = '0s', webhook_client_timeout = '10s'");
  assert.equal(v.runtime.resolvedNs, '1000000000');
  assert.equal(v.runtime.minCheckpointNs, '0');
  assert.equal(v.runtime.clientTimeoutNs, '10000000000');
  assert.deepEqual(parseCursorText('1759246920563173000.0000000001'), { wall: '1759246920563173000', logical: 1 });
  assert.deepEqual(parseCursorText('1759246920563173000.0000000005'), { wall: '1759246920563173000', logical: 5 });
  // A short fraction is scaled to 10 digits (".5" = logical 5000000000), which is out of the int32 range.
  assert.throws(() => parseCursorText('1759246920563173000.5'), ChangefeedError);
  assert.deepEqual(parseCursorText('2024-09-11T16:33:35Z'), { text: '2024-09-11T16:33:35Z' });
});

test('Go durations', () => {
  assert.equal(parseGoDuration('1m30s'), 90_000_000_000n);
  assert.equal(parseGoDuration('1.5h'), 5_400_000_000_000n);
  assert.equal(parseGoDuration('250ms'), 250_000_000n);
  assert.equal(parseGoDuration('-1s'), -1_000_000_000n);
  assert.throws(() => parseGoDuration('1x'), /time: unknown unit "x" in duration "1x"/);
  assert.throws(() => parseGoDuration('.'), /time: invalid duration "."/);
  assert.equal(formatGoDuration(0n), '0s');
  assert.equal(formatGoDuration(250_000_000n), '250ms');
  assert.equal(formatGoDuration(1_500_000n), '1.5ms');
  assert.equal(formatGoDuration(3_000_000_000n), '3s');
  assert.equal(formatGoDuration(90_500_000_000n), '1m30.5s');
  assert.equal(formatGoDuration(345_600_000_000_000n), '96h0m0s');
});

test('exact JSON: numbers keep their text, output is compact, sorted and Go-escaped', () => {
  const text = '{"id": 1101234051444375553, "amount": 125.50, "name": "a<b>&c", "tiny": 1e-30, "ext": {"z": 1, "a": [1.0, null]}}';
  assert.equal(normalizeJsonText(text), '{"amount":125.50,"ext":{"a":[1.0,null],"z":1},"id":1101234051444375553,"name":"a\\u003cb\\u003e\\u0026c","tiny":1e-30}');
  assert.deepEqual(rawToPlain(parseRawJson(text)), { id: 1101234051444375553n, amount: '125.50', name: 'a<b>&c', tiny: '1e-30', ext: { z: 1n, a: ['1.0', null] } });
});

test('encoder builds CockroachDB webhook messages', () => {
  const o: FeedRuntimeOptions = {
    updated: true, diff: false, mvccTimestamp: false, envelope: 'wrapped', format: 'json', resolvedNs: null, minCheckpointNs: '0', authHeader: null,
    clientTimeoutNs: null, compression: null, extraHeaders: {}, sink: { messages: 0, bytes: 0, frequencyNs: '0', retryMax: 3, backoffNs: '500000000' }, endTime: null,
  };
  const target = { relid: '1', topic: 'employees', columns: ['id', 'name', 'office'] };
  const hlc = { nanos: 1759246921004412000n, logical: 0 };
  const m = encodeMessage({ hlc, seq: '1', relid: '1', key: '[1]', after: '{"id": 1, "name": "Terry", "office": "new york city"}', before: null }, target, o);
  // Fixture F1, byte for byte.
  assert.equal(batchBody([m.text]), '{"payload":[{"after":{"id":1,"name":"Terry","office":"new york city"},"key":[1],"topic":"employees","updated":"1759246921004412000.0000000000"}],"length":1}');
  const del = encodeMessage({ hlc, seq: '2', relid: '1', key: '[2]', after: null, before: '{"id": 2}' }, target, { ...o, diff: true });
  assert.equal(del.text, '{"after":null,"before":{"id":2},"key":[2],"topic":"employees","updated":"1759246921004412000.0000000000"}');
  assert.equal(resolvedBody({ nanos: 1759246923500000000n, logical: 0 }), '{"resolved":"1759246923500000000.0000000000"}');
  const csv = encodeMessage({ hlc, seq: '3', relid: '1', key: '[3]', after: '{"office": "a,b", "id": 3, "name": null}', before: null }, target, { ...o, format: 'csv' });
  assert.equal(csv.text, '3,,"a,b"\n');
});

test('reorder fault shuffles across keys but keeps per-key order', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  const f = new FaultState({ reorderAcrossKeys: true }, rnd);
  const items = ['a1', 'b1', 'a2', 'c1', 'b2', 'a3', 'c2'];
  let changed = false;
  for (let i = 0; i < 20; i++) {
    const out = f.reorder(items, (x) => x[0] as string);
    assert.deepEqual(out.filter((x) => x[0] === 'a'), ['a1', 'a2', 'a3']);
    assert.deepEqual(out.filter((x) => x[0] === 'b'), ['b1', 'b2']);
    changed ||= out.join() !== items.join();
  }
  assert.ok(changed);
  assert.throws(() => f.set({ duplicateRate: 2 }), RangeError);
});

test('batcher: all-zero flushes every message, else size or frequency from the first message', () => {
  const m = { text: 'x'.repeat(10), rowKey: 'k', hlc: { nanos: 1n, logical: 0 } };
  const immediate = new Batcher({ messages: 0, bytes: 0, frequencyMs: 0 });
  immediate.add(m);
  assert.equal(immediate.full, true);
  const b = new Batcher({ messages: 3, bytes: 0, frequencyMs: 1000 });
  b.add(m, 0);
  b.add(m, 500);
  assert.equal(b.full, false);
  assert.equal(b.due(999), false);
  assert.equal(b.due(1000), true);
  b.add(m, 900);
  assert.equal(b.full, true);
  const bytes = new Batcher({ messages: 0, bytes: 25, frequencyMs: 1000 });
  bytes.add(m);
  bytes.add(m);
  assert.equal(bytes.full, false);
  bytes.add(m);
  assert.equal(bytes.full, true);
});

test('transport errors read like Go net/http', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:30004'), { code: 'ECONNREFUSED', address: '127.0.0.1', port: 30004 });
  assert.equal(goTransportText(refused, 'https://localhost:30004/db/s'), 'dial tcp 127.0.0.1:30004: connect: connection refused');
  const v6 = Object.assign(new Error('x'), { code: 'ECONNREFUSED', address: '::1', port: 30004 });
  assert.equal(goTransportText(new AggregateError([refused, v6]), 'https://localhost:30004/db/s'), 'dial tcp [::1]:30004: connect: connection refused');
  assert.equal(goTransportText(Object.assign(new Error('x'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }), 'https://h/'), 'tls: failed to verify certificate: x509: certificate signed by unknown authority');
});
