/**
 * Binary-format array parameters (src/replicator/pg-arrays.ts): the exact wire layout PostgreSQL's
 * array_recv and CockroachDB's decodeBinaryArray read, and the cases where a text array must be kept
 * because a value has no exact binary form (the server then judges the text as before). Live round
 * trips are in test/integration/engine-stage.test.ts and the PostgreSQL dialect cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binaryArrayOf, int4Array, int8Array, OID, textArray } from '../../src/replicator/pg-arrays.js';

/** Decodes a one-dimensional binary array: [element OID, elements as Buffers or null]. */
function decode(buf: Buffer): { oid: number; hasNull: number; items: (Buffer | null)[] } {
  assert.equal(buf.readInt32BE(0), 1, 'one dimension');
  const hasNull = buf.readInt32BE(4);
  const oid = buf.readInt32BE(8);
  const n = buf.readInt32BE(12);
  assert.equal(buf.readInt32BE(16), 1, 'lower bound 1');
  const items: (Buffer | null)[] = [];
  let at = 20;
  for (let i = 0; i < n; i++) {
    const len = buf.readInt32BE(at);
    at += 4;
    if (len < 0) items.push(null);
    else {
      items.push(buf.subarray(at, at + len));
      at += len;
    }
  }
  assert.equal(at, buf.length, 'no trailing bytes');
  return { oid, hasNull, items };
}

test('INT8[] and INT4[]: big-endian values, INT8 beyond 2^53 exact', () => {
  const a = decode(int8Array([1795789000000000000n, -1n, 9223372036854775807n]));
  assert.equal(a.oid, OID.int8);
  assert.deepEqual(
    a.items.map((b) => b!.readBigInt64BE(0)),
    [1795789000000000000n, -1n, 9223372036854775807n],
  );
  const b = decode(int4Array([0, 2147483647, -5]));
  assert.equal(b.oid, OID.int4);
  assert.deepEqual(
    b.items.map((x) => x!.readInt32BE(0)),
    [0, 2147483647, -5],
  );
});

test('TEXT[]: UTF-8 bytes, NULLs flagged, byte spans copied as they are', () => {
  const body = Buffer.from('..{"a":"Zoë 🚀"}..');
  const span = { bytes: body, start: 2, end: body.length - 2 };
  const t = decode(textArray(['plain', null, 'ü "quoted" \\ back', span, '', undefined]));
  assert.equal(t.oid, OID.text);
  assert.equal(t.hasNull, 1);
  assert.deepEqual(
    t.items.map((b) => (b === null ? null : b.toString('utf8'))),
    ['plain', null, 'ü "quoted" \\ back', '{"a":"Zoë 🚀"}', '', null],
  );
  assert.equal(decode(textArray(['x'])).hasNull, 0);
  assert.equal(decode(textArray(['x'], OID.varchar)).oid, OID.varchar);
});

test('binaryArrayOf: integers, booleans and text in binary; anything inexact stays text', () => {
  const ints = decode(binaryArrayOf(['1', null, '-32768', '007'], OID.int2)!);
  assert.deepEqual(
    ints.items.map((b) => (b === null ? null : b.readInt16BE(0))),
    [1, null, -32768, 7],
  );
  assert.deepEqual(
    decode(binaryArrayOf(['1101234051444375553'], OID.int8)!).items.map((b) => b!.readBigInt64BE(0)),
    [1101234051444375553n],
  );
  assert.deepEqual(
    decode(binaryArrayOf(['true', 'false', null], OID.bool)!).items.map((b) => (b === null ? null : b[0])),
    [1, 0, null],
  );
  // No exact binary form here: the caller sends the texts and the server decides, as before.
  assert.equal(binaryArrayOf(['1.5'], OID.int8), undefined, 'not an integer');
  assert.equal(binaryArrayOf(['9223372036854775808'], OID.int8), undefined, 'out of range');
  assert.equal(binaryArrayOf(['40000'], OID.int2), undefined, 'out of int2 range');
  assert.equal(binaryArrayOf(['1e3'], OID.int4), undefined);
  assert.equal(binaryArrayOf(['t'], OID.bool), undefined, 'only true/false');
  assert.equal(binaryArrayOf(['2025-01-01'], 1082), undefined, 'a type without a binary encoder here');
  assert.equal(decode(binaryArrayOf(['a', null], OID.bpchar)!).oid, OID.bpchar);
});
