/**
 * Column compatibility between a CockroachDB source table and its target table, for preflight. The
 * engine writes the changefeed's JSON values into the target columns, so what matters is whether a
 * value of the source type can be stored in the target class without loss or a type error. The rules
 * are deliberately coarse: "fail" only where the write would error or corrupt, "warn" where it may lose
 * precision or meaning.
 */
import type { ColumnClass } from '../../replicator/types.js';

/** Maps a CockroachDB (or PostgreSQL-flavoured) type name to the engine's value classes. */
export function sourceClass(dataType: string): ColumnClass {
  const t = dataType.trim().toLowerCase();
  if (t.endsWith('[]') || t === 'array' || t.startsWith('_')) return 'array';
  if (/^(int|int2|int4|int8|integer|bigint|smallint|serial\d?|bigserial|smallserial|oid)\b/.test(t)) return 'int';
  if (/^(decimal|numeric|dec)\b/.test(t)) return 'decimal';
  if (/^(float|float4|float8|real|double)\b/.test(t)) return 'float';
  if (/^bool(ean)?\b/.test(t)) return 'bool';
  if (/^(string|text|varchar|char|character|name|citext|bpchar|"char")\b/.test(t)) return 'text';
  if (/^jsonb?\b/.test(t)) return 'json';
  if (/^(bytes|bytea|blob)\b/.test(t)) return 'bytes';
  if (/^uuid\b/.test(t)) return 'uuid';
  if (/^date\b/.test(t)) return 'date';
  if (/^(timestamptz|timestamp with time zone)\b/.test(t)) return 'timestamptz';
  if (/^timestamp\b/.test(t)) return 'timestamp';
  if (/^(time|timetz)\b/.test(t)) return 'time';
  if (/^interval\b/.test(t)) return 'interval';
  if (t === 'user-defined' || t.startsWith('enum')) return 'enum';
  return 'other';
}

export type Compatibility = { level: 'ok' } | { level: 'warn' | 'fail'; reason: string };

const OK: Compatibility = { level: 'ok' };

/** Whether source values of class `from` can be written to a target column of class `to`. */
export function compatible(from: ColumnClass, to: ColumnClass): Compatibility {
  if (from === to) return OK;
  // Anything has a text form; 'other' classes are left to the dialect's conversion.
  if (to === 'text' || to === 'other' || from === 'other') return OK;
  const pair = `${from}->${to}`;
  switch (pair) {
    case 'int->decimal':
    case 'enum->text':
    case 'text->enum':
    case 'uuid->bytes':
    case 'timestamp->timestamptz':
    case 'json->text':
      return OK;
    case 'int->float':
      return { level: 'warn', reason: 'integers above 2^53 lose precision in a floating-point column' };
    case 'decimal->float':
      return { level: 'warn', reason: 'decimals are rounded to floating point' };
    case 'decimal->int':
    case 'float->int':
      return { level: 'warn', reason: 'fractional values will be rejected or truncated by the target' };
    case 'float->decimal':
      return { level: 'warn', reason: 'NaN and infinities cannot be stored in a decimal column' };
    case 'bool->int':
      return OK; // MySQL BOOLEAN is TINYINT(1)
    case 'int->bool':
      return { level: 'warn', reason: 'only 0 and 1 are meaningful in a boolean column' };
    case 'timestamptz->timestamp':
      return { level: 'warn', reason: 'the time zone offset is dropped (values are written in UTC)' };
    case 'text->json':
    case 'text->uuid':
      return { level: 'warn', reason: 'every value must parse as the target type' };
    default:
      return { level: 'fail', reason: `a ${from} value cannot be written to a ${to} column` };
  }
}
