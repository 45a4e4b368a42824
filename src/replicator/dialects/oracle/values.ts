/**
 * Changefeed JSON values -> Oracle bind values and the SQL expression that converts each bind to the
 * column's type. Binds are text (or bytes for RAW/BLOB) converted by explicit, format-fixed functions,
 * so neither NLS settings nor JS numbers can change a value.
 */
import type { JsonValue } from '../../../lib/exact-json.js';
import type { ColumnInfo } from '../../types.js';
import { formatDateTime, parseDateTime, toUtc } from '../shared/timestamps.js';
import { booleanOf, bytesOf, integerText, jsonText, plainDecimal, scalarText, uuidBytes } from '../shared/values.js';

export type OracleBindValue = string | Buffer | null;

/** Bind type of one column in an executeMany batch (mapped to oracledb DB_TYPE_* by the pool). */
export interface OracleBindDef {
  readonly type: 'string' | 'buffer' | 'clob' | 'blob';
  readonly maxSize?: number;
}

/** Largest VARCHAR2/RAW bind; longer values go as CLOB/BLOB. */
export const ORACLE_MAX_INLINE_BYTES = 32767;

const isRaw = (col: ColumnInfo) => /^(raw|long raw)\b/i.test(col.type);
const isBlob = (col: ColumnInfo) => /^blob\b/i.test(col.type);
const isBinaryFloat = (col: ColumnInfo) => /^binary_(float|double)\b/i.test(col.type);

export const DATE_FORMAT = 'YYYY-MM-DD HH24:MI:SS';
export const TIMESTAMP_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9';
export const TIMESTAMP_TZ_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9 TZH:TZM';

/** Whether this column is bound as bytes. */
export const bindsBytes = (col: ColumnInfo): boolean => col.class === 'bytes' || (col.class === 'uuid' && (isRaw(col) || isBlob(col)));

/** SQL expression turning bind `placeholder` into the column's type. */
export function bindExpression(col: ColumnInfo, placeholder: string): string {
  switch (col.class) {
    case 'int':
    case 'decimal':
    case 'float':
      if (/^binary_double\b/i.test(col.type)) return `TO_BINARY_DOUBLE(${placeholder})`;
      if (/^binary_float\b/i.test(col.type)) return `TO_BINARY_FLOAT(${placeholder})`;
      return `TO_NUMBER(${placeholder})`;
    case 'date':
      return `TO_DATE(${placeholder}, '${DATE_FORMAT}')`;
    case 'timestamp':
      return `TO_TIMESTAMP(${placeholder}, '${TIMESTAMP_FORMAT}')`;
    case 'timestamptz':
      return `TO_TIMESTAMP_TZ(${placeholder}, '${TIMESTAMP_TZ_FORMAT}')`;
    case 'bool':
      // Oracle 23ai BOOLEAN; NUMBER(1) flags are 'int' and take 1/0 through TO_NUMBER.
      return `TO_BOOLEAN(${placeholder})`;
    default:
      return placeholder;
  }
}

/** The bind value for one column. */
export function oracleBind(col: ColumnInfo, v: JsonValue | undefined): OracleBindValue {
  if (v === null || v === undefined) return null;
  switch (col.class) {
    case 'int':
      return integerText(v);
    case 'decimal':
      return typeof v === 'boolean' ? (v ? '1' : '0') : plainDecimal(scalarText(v));
    case 'float': {
      const t = scalarText(v);
      // TO_BINARY_DOUBLE reads 'Inf' / '-Inf' / 'NaN'; CockroachDB writes Infinity / NaN.
      if (isBinaryFloat(col) && /^[+-]?infinity$/i.test(t)) return t.startsWith('-') ? '-Inf' : 'Inf';
      return t;
    }
    case 'bool': {
      const b = booleanOf(v);
      return b === undefined ? scalarText(v) : b ? 'TRUE' : 'FALSE';
    }
    case 'json':
    case 'array':
      return jsonText(v);
    case 'bytes':
      return bytesOf(v);
    case 'uuid':
      if (bindsBytes(col)) return uuidBytes(v) ?? bytesOf(v);
      return scalarText(v).toLowerCase();
    case 'date': {
      const p = parseDateTime(scalarText(v));
      // Oracle DATE has a time of day; a TIMESTAMPTZ source lands as its UTC wall time.
      return p ? formatDateTime(toUtc(p), ' ', 0) : scalarText(v);
    }
    case 'timestamp': {
      const p = parseDateTime(scalarText(v));
      return p ? formatDateTime(toUtc(p), ' ', 9) : scalarText(v);
    }
    case 'timestamptz': {
      const p = parseDateTime(scalarText(v));
      return p ? `${formatDateTime(toUtc(p), ' ', 9)} +00:00` : scalarText(v);
    }
    default:
      return scalarText(v);
  }
}

/** Bind definition wide enough for every value of one column in a batch. */
export function bindDefFor(col: ColumnInfo, values: readonly OracleBindValue[]): OracleBindDef {
  let max = 1;
  for (const v of values) {
    if (v === null) continue;
    const n = Buffer.isBuffer(v) ? v.length : Buffer.byteLength(v, 'utf8');
    if (n > max) max = n;
  }
  // Short values go as RAW even for a BLOB column: Oracle converts RAW to BLOB on insert, and a RAW
  // bind is an ordinary value in MERGE's USING (SELECT ... FROM DUAL).
  if (bindsBytes(col)) return max > ORACLE_MAX_INLINE_BYTES ? { type: 'blob' } : { type: 'buffer', maxSize: max };
  return max > ORACLE_MAX_INLINE_BYTES ? { type: 'clob' } : { type: 'string', maxSize: max };
}
