/**
 * Dialect-neutral pieces of value conversion: how a changefeed JSON value reads as text, bytes or a
 * UUID. The dialects decide what to hand their driver; this file only interprets CockroachDB's JSON.
 */
import { JsonNumber, stringifyExact, type JsonValue } from '../../../lib/exact-json.js';
import { isCrdbJsonNull } from './payload.js';

/** Text of a scalar as CockroachDB meant it; objects and arrays become compact JSON. */
export function scalarText(v: Exclude<JsonValue, null>): string {
  if (v instanceof JsonNumber) return v.text;
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return stringifyExact(v);
}

/**
 * The digits of `int.frac × 10^exp` split at the decimal point, padded with zeros where the point
 * moves past them ("1", "5", 2 -> "150" and ""); leading and trailing zeros are left to the caller.
 */
export function movePoint(intPart: string, fracPart: string, exp: number): { whole: string; frac: string } {
  let digits = intPart + fracPart;
  // Position of the decimal point counted from the left of `digits`.
  let point = intPart.length + exp;
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  } else if (point > digits.length) {
    digits += '0'.repeat(point - digits.length);
  }
  return { whole: digits.slice(0, point), frac: digits.slice(point) };
}

/**
 * A decimal without exponent, digits kept as sent ("125.50" stays "125.50", "4E+2" becomes "400"):
 * MySQL reads exponent strings through a double, which would round large values.
 */
export function plainDecimal(text: string): string {
  // Almost every decimal arrives plain: skip the regex (and the trim) for those.
  if (text.indexOf('e') < 0 && text.indexOf('E') < 0 && text.trim().length === text.length) return text;
  const m = /^([+-]?)(\d*)(?:\.(\d*))?[eE]([+-]?\d+)$/.exec(text.trim());
  if (!m) return text.trim();
  const [, sign, intPart = '', fracPart = '', expText] = m;
  const moved = movePoint(intPart, fracPart, Number(expText));
  const whole = moved.whole.replace(/^0+(?=\d)/, '') || '0';
  const frac = moved.frac;
  return `${sign === '-' ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

/** Integer text for an int column: booleans become 1/0 (a BOOL source written to an integer target). */
export function integerText(v: Exclude<JsonValue, null>): string {
  if (typeof v === 'boolean') return v ? '1' : '0';
  const t = scalarText(v);
  return /[eE]/.test(t) ? plainDecimal(t) : t;
}

/** true/false from JSON booleans, numbers (0 is false) and the usual words; undefined when unclear. */
export function booleanOf(v: Exclude<JsonValue, null>): boolean | undefined {
  if (typeof v === 'boolean') return v;
  const t = scalarText(v).trim().toLowerCase();
  if (['t', 'true', 'yes', 'y', 'on', '1'].includes(t)) return true;
  if (['f', 'false', 'no', 'n', 'off', '0'].includes(t)) return false;
  if (v instanceof JsonNumber) return Number(t) !== 0;
  return undefined;
}

/**
 * Bytes of a BYTES value. CockroachDB writes BYTES as "\x<hex>" in changefeed JSON; any other string
 * is taken as its UTF-8 bytes.
 */
export function bytesOf(v: Exclude<JsonValue, null>): Buffer {
  const t = scalarText(v);
  if (/^\\x([0-9a-fA-F]{2})*$/.test(t)) return Buffer.from(t.slice(2), 'hex');
  return Buffer.from(t, 'utf8');
}

/** 16 bytes of a UUID given as text (with or without dashes or braces) or "\x" + 32 hex digits. */
export function uuidBytes(v: Exclude<JsonValue, null>): Buffer | undefined {
  const hex = scalarText(v).trim().replace(/^\\x/i, '').replace(/[{}-]/g, '');
  return /^[0-9a-fA-F]{32}$/.test(hex) ? Buffer.from(hex, 'hex') : undefined;
}

/** JSON document text for a JSON column; CockroachDB's JSON-null marker becomes the JSON literal null. */
export function jsonText(v: Exclude<JsonValue, null>): string {
  return isCrdbJsonNull(v) ? 'null' : stringifyExact(v);
}

/**
 * readRows' `after` keys are normalised texts (NormalisedRow); bytes there are bare lower-case hex,
 * which the write conversions would take as UTF-8. Turn them back into CockroachDB's "\x" form.
 */
export function fromCanonical(cls: string, v: JsonValue): JsonValue {
  if (cls === 'bytes' && typeof v === 'string' && !v.startsWith('\\x') && /^([0-9a-fA-F]{2})*$/.test(v)) return `\\x${v}`;
  return v;
}
