/**
 * Changefeed JSON values -> MySQL/MariaDB parameters. Statements are formatted client-side by mysql2
 * (no server-side prepared statements to leak), so numbers that are keys or exact decimals are inlined
 * as numeric literals: a quoted '9007199254740993' compared with a BIGINT column is compared as a
 * double by MySQL (https://dev.mysql.com/doc/refman/8.0/en/type-conversion.html) and would match the
 * wrong row.
 */
import type { JsonValue } from '../../../lib/exact-json.js';
import type { ColumnInfo } from '../../types.js';
import { canonicalUuid } from '../shared/canonical.js';
import { formatDate, formatDateTime, parseDateTime, toUtc } from '../shared/timestamps.js';
import { booleanOf, bytesOf, integerText, jsonText, plainDecimal, scalarText, uuidBytes } from '../shared/values.js';

/** A numeric literal inlined as is (mysql2 writes toSqlString() verbatim). */
export class SqlLiteral {
  constructor(readonly text: string) {}
  toSqlString(): string {
    return this.text;
  }
  toJSON(): string {
    return `literal:${this.text}`;
  }
}

export type MyParam = null | string | number | Buffer | SqlLiteral;

const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;
const FLOAT = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/** Whether a BINARY(16) column holds UUIDs (as bytes) rather than text. */
const isBinaryUuid = (col: ColumnInfo) => /^binary\b/i.test(col.type);

/** CockroachDB's own form, UTC with a "Z": `2026-11-27T14:00:00.123456Z` (fraction optional). */
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.(\d+))?Z$/;

function dateTimeText(text: string): string {
  // The common case needs no date arithmetic: already UTC, so only the separator changes and the
  // fraction is cut to microseconds (what the general path below produces for it too).
  const m = RFC3339_UTC.exec(text);
  if (m) return m[1] === undefined ? `${text.slice(0, 10)} ${text.slice(11, 19)}` : `${text.slice(0, 10)} ${text.slice(11, 19)}.${m[1].slice(0, 6)}`;
  const p = parseDateTime(text);
  if (!p) return text;
  // MySQL DATETIME has no zone and MariaDB rejects offsets in literals: write the UTC wall time, which
  // is what a TIMESTAMP column stores in our UTC session.
  const utc = toUtc(p);
  return formatDateTime(utc, ' ', Math.min(p.fraction.length, 6));
}

export function myParam(col: ColumnInfo, v: JsonValue | undefined): MyParam {
  if (v === null || v === undefined) return null;
  switch (col.class) {
    case 'int': {
      const t = integerText(v);
      return INTEGER.test(t) ? new SqlLiteral(t) : t;
    }
    case 'decimal': {
      const t = typeof v === 'boolean' ? (v ? '1' : '0') : plainDecimal(scalarText(v));
      return DECIMAL.test(t) ? new SqlLiteral(t) : t;
    }
    case 'float': {
      const t = scalarText(v);
      return FLOAT.test(t) ? new SqlLiteral(t) : t;
    }
    case 'bool': {
      const b = booleanOf(v);
      return b === undefined ? scalarText(v) : b ? 1 : 0;
    }
    case 'json':
    case 'array':
      return jsonText(v);
    case 'bytes':
      return bytesOf(v);
    case 'uuid':
      if (isBinaryUuid(col)) return uuidBytes(v) ?? bytesOf(v);
      return canonicalUuid(scalarText(v));
    case 'date': {
      const p = parseDateTime(scalarText(v));
      return p ? formatDate(p.hasTime ? toUtc(p) : p) : scalarText(v);
    }
    case 'timestamp':
    case 'timestamptz':
      return dateTimeText(scalarText(v));
    default:
      return scalarText(v);
  }
}

/** Rough size of a parameter once inlined, for keeping statements under max_allowed_packet. */
export function paramSize(p: MyParam): number {
  if (p === null) return 4;
  if (Buffer.isBuffer(p)) return p.length * 2 + 3;
  if (p instanceof SqlLiteral) return p.text.length;
  if (typeof p === 'number') return 24;
  // Worst case every character escaped and 4 bytes of UTF-8.
  return p.length * 4 + 2;
}
