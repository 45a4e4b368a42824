/**
 * One-dimensional arrays in the pg wire protocol's binary format, for unnest()/ANY() parameters of the
 * staging insert (stage/) and of PostgreSQL target writes (dialects/postgres/). No SQL and no driver
 * here: node-postgres sends a Buffer parameter with the binary format code, so a pre-encoded array
 * reaches the server as is.
 *
 * Why: as text, every element goes through pg's escapeElement (two regex replaces and a new string per
 * element; JSON row images are full of quotes) and the array literal becomes one string per column,
 * over 128 KiB for a page of row images, which V8 allocates in large-object space (slow here, see
 * sink/scan.ts); the server then parses the escapes back with array_in. array_recv reads lengths
 * instead.
 *
 * Layout (PostgreSQL array_recv; CockroachDB's pgwirebase decodeBinaryArray reads the same, NULL
 * elements included): int32 ndim = 1, int32 has-nulls flag, int32 element type OID, int32 length,
 * int32 lower bound = 1, then per element an int32 byte length (-1 for NULL) and the element's binary
 * value. The element OID must be the one the statement's cast gives the parameter (`$2::INT8[]` -> 20),
 * or the server rejects the array.
 */
import type { RawText } from './types.js';

export const OID = Object.freeze({ bool: 16, int8: 20, int2: 21, int4: 23, text: 25, bpchar: 1042, varchar: 1043 });

const HEADER = 20;

function header(buf: Buffer, oid: number, length: number, hasNull: boolean): number {
  buf.writeInt32BE(1, 0);
  buf.writeInt32BE(hasNull ? 1 : 0, 4);
  buf.writeInt32BE(oid, 8);
  buf.writeInt32BE(length, 12);
  buf.writeInt32BE(1, 16);
  return HEADER;
}

/** A DataView over `buf`: its setBigInt64 writes a bigint without the intermediate bigints of Buffer's. */
const viewOf = (buf: Buffer): DataView => new DataView(buf.buffer, buf.byteOffset, buf.byteLength);

/** INT8[] from bigints. */
export function int8Array(values: readonly bigint[]): Buffer {
  const buf = Buffer.allocUnsafe(HEADER + values.length * 12);
  const view = viewOf(buf);
  let at = header(buf, OID.int8, values.length, false);
  for (const v of values) {
    view.setInt32(at, 8);
    view.setBigInt64(at + 4, v);
    at += 12;
  }
  return buf;
}

/** INT4[] from integers (callers pass values within the int32 range). */
export function int4Array(values: readonly number[]): Buffer {
  const buf = Buffer.allocUnsafe(HEADER + values.length * 8);
  let at = header(buf, OID.int4, values.length, false);
  for (const v of values) {
    buf.writeInt32BE(4, at);
    buf.writeInt32BE(v, at + 4);
    at += 8;
  }
  return buf;
}

/**
 * A text-like array (TEXT[], VARCHAR[], BPCHAR[]: their binary element form is the UTF-8 bytes) from
 * strings, UTF-8 byte spans (copied as they are) and nulls.
 */
export function textArray(values: readonly (string | RawText | null | undefined)[], oid: number = OID.text): Buffer {
  // Byte lengths are measured once and reused for the write: UTF-8 length differs from .length for
  // anything outside ASCII.
  const lengths = new Int32Array(values.length);
  let size = HEADER + values.length * 4;
  let hasNull = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    let n: number;
    if (v === null || v === undefined) {
      n = -1;
      hasNull = true;
    } else if (typeof v === 'string') {
      n = Buffer.byteLength(v, 'utf8');
    } else {
      n = v.end - v.start;
    }
    lengths[i] = n;
    if (n > 0) size += n;
  }
  const buf = Buffer.allocUnsafe(size);
  let at = header(buf, oid, values.length, hasNull);
  for (let i = 0; i < values.length; i++) {
    const n = lengths[i] as number;
    buf.writeInt32BE(n, at);
    at += 4;
    if (n <= 0) continue;
    const v = values[i] as string | RawText;
    if (typeof v === 'string') at += buf.write(v, at, n, 'utf8');
    else {
      buf.set(v.bytes.subarray(v.start, v.end), at);
      at += n;
    }
  }
  return buf;
}

const INTEGER = /^-?\d{1,19}$/;
const LIMITS: Record<number, [bigint, bigint, number]> = {
  [OID.int8]: [-(2n ** 63n), 2n ** 63n - 1n, 8],
  [OID.int4]: [-(2n ** 31n), 2n ** 31n - 1n, 4],
  [OID.int2]: [-(2n ** 15n), 2n ** 15n - 1n, 2],
};

/**
 * The binary form of an array of parameter texts (as the PostgreSQL dialect renders them) whose
 * element type is `oid`, or undefined when some value has no exact binary form here: an integer text
 * that is not a plain in-range integer, a boolean other than "true"/"false", a type not listed. The
 * caller then sends the texts, so the server's own input function decides (and reports) exactly as
 * before; this is only ever a faster encoding of the same values.
 */
export function binaryArrayOf(values: readonly (string | null)[], oid: number): Buffer | undefined {
  if (oid === OID.text || oid === OID.varchar || oid === OID.bpchar) return textArray(values, oid);
  if (oid === OID.bool) {
    let hasNull = false;
    for (const v of values) {
      if (v === null) hasNull = true;
      else if (v !== 'true' && v !== 'false') return undefined;
    }
    const buf = Buffer.allocUnsafe(HEADER + values.length * 5);
    let at = header(buf, OID.bool, values.length, hasNull);
    for (const v of values) {
      if (v === null) {
        buf.writeInt32BE(-1, at);
        at += 4;
      } else {
        buf.writeInt32BE(1, at);
        buf[at + 4] = v === 'true' ? 1 : 0;
        at += 5;
      }
    }
    return buf.subarray(0, at);
  }
  const limits = LIMITS[oid];
  if (!limits) return undefined;
  const [min, max, width] = limits;
  // Short integers are exact as doubles: no bigint for them.
  const ints = new Array<bigint | number | null>(values.length);
  let hasNull = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      ints[i] = null;
      hasNull = true;
      continue;
    }
    if (!INTEGER.test(v)) return undefined;
    if (v.length <= 15) {
      const n = Number(v);
      if (n < Number(min) || n > Number(max)) return undefined;
      ints[i] = n;
    } else {
      const n = BigInt(v);
      if (n < min || n > max) return undefined;
      ints[i] = n;
    }
  }
  const buf = Buffer.allocUnsafe(HEADER + values.length * (4 + width));
  const view = viewOf(buf);
  let at = header(buf, oid, values.length, hasNull);
  for (const n of ints) {
    if (n === null) {
      view.setInt32(at, -1);
      at += 4;
      continue;
    }
    view.setInt32(at, width);
    if (width === 8) view.setBigInt64(at + 4, typeof n === 'bigint' ? n : BigInt(n));
    else if (width === 4) view.setInt32(at + 4, Number(n));
    else view.setInt16(at + 4, Number(n));
    at += 4 + width;
  }
  return buf.subarray(0, at);
}

const UNQUOTED = /^[0-9A-Za-z.:+_-]+$/;

/**
 * A text array literal (`{1.5,2026-01-01T00:00:00Z,NULL,"a b"}`) for array_in, built here because
 * pg's own (escapeElement) quotes every element with two regex replaces and a new string each. Plain
 * tokens stay unquoted; anything array_in could read differently (empty, NULL in any case, spaces,
 * quotes, backslashes, braces, commas) is quoted with backslash escapes, as pg writes it.
 */
export function textArrayLiteral(values: readonly (string | null)[]): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) parts[i] = 'NULL';
    else if (UNQUOTED.test(v) && !(v.length === 4 && v.toLowerCase() === 'null')) parts[i] = v;
    else parts[i] = `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  }
  return `{${parts.join(',')}}`;
}
