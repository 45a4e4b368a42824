/**
 * The sink's byte-level parsing (the body is never decoded into one string): the byte scanner agrees
 * with JSON.parse on what is valid JSON and spans values in bytes; row images stay bytes
 * of the body until read; the HLC fast path parses exactly what the general path does; and the
 * request-body budget that bounds memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatHlc, parseHlc } from '../../src/lib/hlc.js';
import { ByteBudget } from '../../src/replicator/sink/body.js';
import { parseWebhookBody, parseWebhookBuffer, PayloadError } from '../../src/replicator/sink/payload.js';
import { ByteJsonScanner } from '../../src/replicator/sink/scan.js';

const samples = [
  '{}',
  '[]',
  '{"a":[1,-2.5e+3,0,0.25,1E9],"b":{"c":null,"d":true,"e":false},"f":"x"}',
  '{"s":"Zoë 🚀 \\"q\\" \\\\ \\/ \\b\\f\\n\\r\\t \\u00e9 \\ud83d\\ude80"}',
  '  [ 1 , { "k" : [ ] } , "" ]  ',
  '{"big":123456789012345678901234567890.000000001,"neg":-0,"tiny":1e-30}',
  // invalid
  '{"a":01}',
  '{"a":1.}',
  '{"a":-}',
  '{"a":1e}',
  '{"a":"\\x"}',
  '{"a":"\\u12G4"}',
  '{"a":"unterminated',
  '{"a" 1}',
  '{"a":1,}',
  '[1 2]',
  '{"a":tru}',
  '{"a":"ctl\u0001"}',
  '{"a":nul',
];

/** Outcome of skipping one value: its span in bytes, or "err". */
function viaBytes(text: string): string {
  const s = new ByteJsonScanner(Buffer.from(text));
  try {
    const span = s.skipValue();
    return `ok ${span.start}-${span.end}`;
  } catch {
    return 'err';
  }
}

/** The same outcome as JSON.parse sees it: the value spans the text without its outer whitespace. */
function viaJsonParse(text: string): string {
  try {
    JSON.parse(text);
  } catch {
    return 'err';
  }
  const lead = text.length - text.trimStart().length;
  return `ok ${Buffer.byteLength(text.slice(0, lead))}-${Buffer.byteLength(text.trimEnd())}`;
}

test('byte scanner agrees with JSON.parse on validity, and spans are in bytes', () => {
  for (const text of samples) assert.equal(viaBytes(text), viaJsonParse(text), text);
});

test('row images stay bytes of the body; key, before and table are decoded; rows of one transaction share an Hlc', () => {
  const text =
    '{"payload":[' +
    '{"after":{"id":1,"s":"Zoë 🚀"},"key":[1],"topic":"db.public.\\"T.x\\"","updated":"1759246921004412000.0000000001"},' +
    '{"after":null,"before":{"id":2},"key":[2],"topic":"db.public.\\"T.x\\"","updated":"1759246921004412000.0000000001","mvcc_timestamp":"1.0"}' +
    '],"length":2}';
  const body = Buffer.from(text);
  const p = parseWebhookBuffer(body);
  assert.equal(p.kind, 'rows');
  if (p.kind !== 'rows') return;
  const [a, b] = p.mutations;
  assert.ok(a?.rawAfter && b);
  assert.equal(a.rawAfter.bytes, body, 'no copy of the body');
  assert.equal(Buffer.from(a.rawAfter.bytes).toString('utf8', a.rawAfter.start, a.rawAfter.end), '{"id":1,"s":"Zoë 🚀"}');
  assert.equal(a.after, '{"id":1,"s":"Zoë 🚀"}', 'decoded when read');
  assert.equal(a.table, 'T.x');
  assert.equal(a.key, '[1]');
  assert.equal(a.before, undefined);
  assert.equal(b.after, null);
  assert.equal(b.rawAfter, null);
  assert.equal(b.before, '{"id":2}');
  assert.equal(a.hlc, b.hlc, 'one Hlc object per transaction');
  assert.deepEqual(a.hlc, { nanos: 1759246921004412000n, logical: 1 });
  // The text entry point gives the same mutations.
  const q = parseWebhookBody(text);
  assert.ok(q.kind === 'rows');
  assert.deepEqual(
    q.mutations.map((m) => [m.table, m.key, m.after, m.before]),
    p.mutations.map((m) => [m.table, m.key, m.after, m.before]),
  );
});

test('invalid UTF-8 and escaped member names', () => {
  assert.throws(() => parseWebhookBuffer(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), (e: unknown) => e instanceof PayloadError && /not valid UTF-8/.test((e as Error).message));
  // "\u0061fter" is "after": a name written with escapes is still recognised.
  const p = parseWebhookBody('{"payload":[{"\\u0061fter":{"id":1},"key":[1],"topic":"t","updated":"1.0"}]}');
  assert.ok(p.kind === 'rows');
  assert.equal(p.mutations[0]?.after, '{"id":1}');
});

test('parseHlc: the fast path for the 19.10-digit form equals the general path', () => {
  for (const text of ['1759246921004412000.0000000000', '1759246921004412000.0000000123', '9223372036854775807.2147483647', '0000000000000000001.0000000000']) {
    const h = parseHlc(text);
    assert.equal(formatHlc(h), text.replace(/^0+(?=\d)/, ''));
    assert.deepEqual(parseHlc(` ${text}`), h, 'same value through the general path');
  }
  assert.throws(() => parseHlc('9223372036854775808.0000000000'), /nanos out of range/);
  assert.throws(() => parseHlc('1759246921004412000.2147483648'), /logical part out of range/);
  assert.throws(() => parseHlc('1759246921004412000.000000000x'), /expected <nanos>.<logical>/);
});

test('ByteBudget: admits within capacity, queues in order, always admits one alone, times out', async () => {
  const budget = new ByteBudget(10);
  const a = await budget.acquire(6, 1000);
  const b = await budget.acquire(4, 1000);
  assert.ok(a && b);
  assert.equal(budget.inUse, 10);
  const order: string[] = [];
  const c = budget.acquire(5, 1000).then((r) => (order.push('c'), r));
  const d = budget.acquire(1, 1000).then((r) => (order.push('d'), r));
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(order, [], 'full: both wait (d behind c, first come first served)');
  a();
  a(); // releasing twice is harmless
  const rc = await c;
  const rd = await d;
  assert.deepEqual(order, ['c', 'd']);
  assert.equal(budget.inUse, 10);
  assert.equal(await budget.acquire(1, 30), undefined, 'timed out, nothing held');
  assert.equal(budget.inUse, 10);
  b();
  rc?.();
  rd?.();
  assert.equal(budget.inUse, 0);
  const big = await budget.acquire(50, 10);
  assert.ok(big, 'a body larger than the budget still goes through when nothing else is in flight');
  big();
});
