/**
 * Changefeed JSON values -> PostgreSQL parameter text. Every parameter is sent as text and cast in SQL
 * to the column's type (see sql.ts), so PostgreSQL itself parses and validates it: decimals stay exact,
 * INT8 above 2^53 is never a JS number, and out-of-range values fail loudly instead of being rounded.
 */
import { JsonNumber, type JsonValue } from '../../../lib/exact-json.js';
import type { ColumnInfo } from '../../types.js';
import { canonicalUuid } from '../shared/canonical.js';
import { formatDate, formatDateTime, parseDateTime, toUtc } from '../shared/timestamps.js';
import { booleanOf, bytesOf, integerText, jsonText, plainDecimal, scalarText } from '../shared/values.js';

export function pgParam(col: ColumnInfo, v: JsonValue | undefined): string | null {
  if (v === null || v === undefined) return null;
  switch (col.class) {
    case 'int':
      return integerText(v);
    case 'decimal':
      return typeof v === 'boolean' ? (v ? '1' : '0') : plainDecimal(scalarText(v));
    case 'bool': {
      const b = booleanOf(v);
      return b === undefined ? scalarText(v) : String(b);
    }
    case 'json':
      return jsonText(v);
    case 'bytes':
      return `\\x${bytesOf(v).toString('hex')}`;
    case 'uuid':
      return canonicalUuid(scalarText(v));
    case 'date': {
      // A timestamp sent for a DATE column: keep its (UTC) calendar day, as a cast in a UTC session would.
      const p = parseDateTime(scalarText(v));
      return p?.hasTime ? formatDate(toUtc(p)) : scalarText(v);
    }
    case 'timestamp': {
      // PostgreSQL ignores an offset given for a timestamp without time zone; convert it to UTC instead,
      // as casting timestamptz to timestamp in our UTC session does (and as the other dialects do).
      const text = scalarText(v);
      const p = parseDateTime(text);
      return p?.offsetSeconds !== undefined ? formatDateTime(toUtc(p), ' ', Math.max(p.fraction.length, 1)) : text;
    }
    case 'array':
      return Array.isArray(v) ? pgArrayLiteral(v) : scalarText(v);
    default:
      // text, enum, float, time, timestamptz, interval, other: PostgreSQL's input functions read
      // CockroachDB's text forms (RFC 3339 timestamps, "1 day 02:00:00" intervals) directly.
      return scalarText(v);
  }
}

/** A PostgreSQL array literal ('{"a","b",NULL}') from a JSON array; nested arrays become dimensions. */
export function pgArrayLiteral(items: readonly JsonValue[]): string {
  return `{${items.map(arrayElement).join(',')}}`;
}

function arrayElement(v: JsonValue): string {
  if (v === null) return 'NULL';
  if (Array.isArray(v)) return pgArrayLiteral(v);
  if (v instanceof JsonNumber) return v.text;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  const text = typeof v === 'string' ? v : jsonText(v);
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
