/**
 * Primary-key order in JavaScript. Both sides are paged with keyset pagination and merged chunk by
 * chunk, so verify must know which of two keys comes first, and that answer must agree with the order
 * in which each database returns rows. Keys arrive as canonical text (see NormalisedRow), so one
 * comparison per order family is enough: numbers by value, booleans false < true, and everything else
 * (text, uuid, bytes as hex, dates and times in their fixed-width forms) by Unicode code point, which
 * is the byte order of CockroachDB's STRING and of binary collations. Pages are checked against this
 * order as they arrive (see walk.ts), so a database that sorts differently fails loudly instead of
 * producing false differences.
 */
import { JsonNumber, type JsonValue } from '../lib/exact-json.js';
import type { ColumnClass } from '../replicator/types.js';

export type OrderFamily = 'number' | 'bool' | 'text';

export type CanonicalKey = readonly string[];

export function orderFamily(cls: ColumnClass): OrderFamily {
  if (cls === 'int' || cls === 'decimal' || cls === 'float') return 'number';
  if (cls === 'bool') return 'bool';
  return 'text';
}

/**
 * Classes whose canonical texts are interchangeable as key values: the same text on both sides means
 * the same row. uuid, text and enum mix because MySQL often stores UUIDs as CHAR(36).
 */
export function keyClassesCompatible(a: ColumnClass, b: ColumnClass): boolean {
  if (a === b) return true;
  const textual = new Set<ColumnClass>(['text', 'enum', 'uuid']);
  if (textual.has(a) && textual.has(b)) return true;
  return orderFamily(a) === 'number' && orderFamily(b) === 'number' && a !== 'float' && b !== 'float';
}

/** Compares two canonical decimal texts (no exponent, as NormalisedRow promises for int and decimal). */
export function compareDecimal(a: string, b: string): number {
  const negA = a.startsWith('-');
  const negB = b.startsWith('-');
  if (negA !== negB) return negA ? -1 : 1;
  const mag = compareMagnitude(negA ? a.slice(1) : a, negB ? b.slice(1) : b);
  return negA ? 0 - mag : mag;
}

function compareMagnitude(a: string, b: string): number {
  const [ia = '', fa = ''] = a.split('.');
  const [ib = '', fb = ''] = b.split('.');
  const intA = ia.replace(/^0+(?=\d)/, '');
  const intB = ib.replace(/^0+(?=\d)/, '');
  if (intA.length !== intB.length) return intA.length < intB.length ? -1 : 1;
  if (intA !== intB) return intA < intB ? -1 : 1;
  const width = Math.max(fa.length, fb.length);
  const fracA = fa.padEnd(width, '0');
  const fracB = fb.padEnd(width, '0');
  return fracA === fracB ? 0 : fracA < fracB ? -1 : 1;
}

/**
 * Code-point order. JavaScript's `<` compares UTF-16 code units, which puts U+10000 and above before
 * U+E000-U+FFFF; databases with binary collations compare UTF-8 bytes, i.e. code points.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    const surrogateA = ca >= 0xd800 && ca <= 0xdfff;
    const surrogateB = cb >= 0xd800 && cb <= 0xdfff;
    if (surrogateA !== surrogateB) return surrogateA ? 1 : -1;
    return ca < cb ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function compareValue(family: OrderFamily, a: string, b: string): number {
  switch (family) {
    case 'number':
      // Float keys may use exponents ("1e+21"): compare those as numbers; int and decimal exactly.
      return /[eE]/.test(a) || /[eE]/.test(b) ? Math.sign(Number(a) - Number(b)) : compareDecimal(a, b);
    case 'bool':
      return a === b ? 0 : a === 'false' ? -1 : 1;
    case 'text':
      return compareCodePoints(a, b);
  }
}

export type KeyComparator = (a: CanonicalKey, b: CanonicalKey) => number;

export function keyComparator(families: readonly OrderFamily[]): KeyComparator {
  return (a, b) => {
    for (let i = 0; i < families.length; i++) {
      const c = compareValue(families[i] as OrderFamily, a[i] as string, b[i] as string);
      if (c !== 0) return c;
    }
    return 0;
  };
}

/**
 * A canonical key as the `after` argument of readRows, in the changefeed's JSON conventions that the
 * dialects accept: numbers as exact JsonNumbers (INT8 beyond 2^53 must not pass through a double),
 * booleans as booleans, bytes as "\\x" + hex (bare hex would be read as text), the rest as canonical text.
 */
export function keyToJson(key: CanonicalKey, classes: readonly ColumnClass[]): JsonValue[] {
  return key.map((text, i) => {
    const cls = classes[i] as ColumnClass;
    const family = orderFamily(cls);
    if (family === 'number') return new JsonNumber(text);
    if (family === 'bool') return text === 'true';
    if (cls === 'bytes') return `\\x${text}`;
    return text;
  });
}
