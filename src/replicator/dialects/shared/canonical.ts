/**
 * Canonical text forms for verification (see NormalisedRow in ../../types.ts). Every dialect's readRows
 * ends here, and so can the CockroachDB side of `verify`, so that equal data gives equal text whatever
 * database it came from. Pure functions: no SQL, no driver.
 */
import { JsonNumber, parseExactJson, type JsonValue } from '../../../lib/exact-json.js';
import type { ColumnClass } from '../../types.js';
import { canonicalTime, formatDate, formatDateTime, parseDateTime, toUtc } from './timestamps.js';
import { movePoint } from './values.js';

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * Plain decimal text without exponent, leading zeros, trailing fraction zeros or "-0":
 * "125.50" -> "125.5", "3.000" -> "3", "1.5E+3" -> "1500", ".5" -> "0.5". Non-numbers ("NaN",
 * "Infinity") are returned as they are.
 */
export function canonicalDecimal(text: string): string {
  const t = text.trim();
  const m = DECIMAL.exec(t);
  if (!m || (m[2] === '' && (m[3] === undefined || m[3] === ''))) return t;
  const sign = m[1] === '-' ? '-' : '';
  const intPart = m[2] ?? '';
  const fracPart = m[3] ?? '';
  const moved = movePoint(intPart, fracPart, m[4] === undefined ? 0 : Number(m[4]));
  const whole = moved.whole.replace(/^0+/, '') || '0';
  const frac = moved.frac.replace(/0+$/, '');
  const out = frac ? `${whole}.${frac}` : whole;
  return out === '0' ? '0' : sign + out;
}

/** Shortest round-trip JS number text ("1e+21", "0.1"); non-numeric text is returned as it is. */
export function canonicalFloat(text: string): string {
  const t = text.trim();
  if (/^[+-]?inf(inity)?$/i.test(t)) return t.startsWith('-') ? '-Infinity' : 'Infinity';
  if (/^nan$/i.test(t)) return 'NaN';
  const n = Number(t);
  if (t === '' || Number.isNaN(n)) return t;
  return String(n);
}

/** "true" / "false" from PostgreSQL "t"/"f", MySQL 0/1 (TINYINT(1), BIT(1)) and the words themselves. */
export function canonicalBool(value: string | number | boolean | Buffer): string {
  if (typeof value === 'boolean') return String(value);
  if (Buffer.isBuffer(value)) return value.some((b) => b !== 0) ? 'true' : 'false';
  const t = String(value).trim().toLowerCase();
  if (t === 't' || t === 'true' || t === 'yes' || t === 'on' || t === 'y') return 'true';
  if (t === 'f' || t === 'false' || t === 'no' || t === 'off' || t === 'n') return 'false';
  const n = Number(t);
  if (!Number.isNaN(n)) return n !== 0 ? 'true' : 'false';
  return t;
}

/** Lower-case hex from a Buffer, PostgreSQL's "\x..." text or plain hex text. */
export function canonicalBytes(value: Buffer | string): string {
  if (Buffer.isBuffer(value)) return value.toString('hex');
  return value.replace(/^\\x/i, '').toLowerCase();
}

/** Lower-case 8-4-4-4-12 from 16 bytes, 32 hex digits or any UUID text; other text is returned as it is. */
export function canonicalUuid(value: Buffer | string): string {
  const hex = Buffer.isBuffer(value) ? value.toString('hex') : value.trim().replace(/[{}-]/g, '').replace(/^\\x/i, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return Buffer.isBuffer(value) ? value.toString('hex') : value;
  const h = hex.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Compact JSON with object keys sorted and numbers canonical as decimals. */
export function canonicalJson(value: string | JsonValue): string {
  const v = typeof value === 'string' ? safeParse(value) : value;
  return v === undefined ? (value as string) : renderSorted(v);
}

function safeParse(text: string): JsonValue | undefined {
  try {
    return parseExactJson(text);
  } catch {
    return undefined;
  }
}

function renderSorted(v: JsonValue): string {
  if (v === null) return 'null';
  if (v instanceof JsonNumber) return canonicalDecimal(v.text);
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(renderSorted).join(',')}]`;
  const keys = Object.keys(v).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${renderSorted(v[k]!)}`).join(',')}}`;
}

/** "YYYY-MM-DD"; text that is not a date is returned as it is ("infinity"). */
export function canonicalDate(text: string): string {
  const p = parseDateTime(text);
  return p ? formatDate(p) : text;
}

/** "YYYY-MM-DDTHH:MM:SS.ffffff" (no zone; an offset in the text is converted to UTC first). */
export function canonicalTimestamp(text: string): string {
  const p = parseDateTime(text);
  return p ? formatDateTime(toUtc(p)) : text;
}

/** The UTC instant "YYYY-MM-DDTHH:MM:SS.ffffffZ"; text without an offset is taken to be UTC already. */
export function canonicalTimestamptz(text: string): string {
  const p = parseDateTime(text);
  return p ? `${formatDateTime(toUtc(p))}Z` : text;
}

export { canonicalTime };

/**
 * Canonical text of a value read back from a target, by column class. Dialects hand over the server's
 * text form (or bytes for binary columns) after any dialect-specific decoding.
 */
export function canonicalByClass(cls: ColumnClass, value: string | Buffer): string {
  if (Buffer.isBuffer(value)) {
    if (cls === 'uuid') return canonicalUuid(value);
    if (cls === 'bool') return canonicalBool(value);
    if (cls === 'bytes' || cls === 'other') return canonicalBytes(value);
    value = value.toString('utf8');
  }
  switch (cls) {
    case 'int':
      return value.trim().replace(/^\+/, '');
    case 'decimal':
      return canonicalDecimal(value);
    case 'float':
      return canonicalFloat(value);
    case 'bool':
      return canonicalBool(value);
    case 'json':
      return canonicalJson(value);
    case 'bytes':
      return canonicalBytes(value);
    case 'uuid':
      return canonicalUuid(value);
    case 'date':
      return canonicalDate(value);
    case 'time':
      return canonicalTime(value);
    case 'timestamp':
      return canonicalTimestamp(value);
    case 'timestamptz':
      return canonicalTimestamptz(value);
    default:
      return value;
  }
}

/**
 * Shortest text that reads back as the same 32-bit float: a driver widens FLOAT4 / BINARY_FLOAT to a
 * JS double (0.1f becomes 0.10000000149011612), where the database's own text would say "0.1".
 */
export function canonicalFloat32(n: number): string {
  if (!Number.isFinite(n)) return canonicalFloat(String(n));
  for (let p = 1; p <= 9; p++) {
    const s = n.toPrecision(p);
    if (Math.fround(Number(s)) === n) return String(Number(s));
  }
  return String(n);
}
