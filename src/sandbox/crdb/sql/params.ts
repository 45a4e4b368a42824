/**
 * Placeholder substitution for emulated statements whose values arrive as Bind parameters
 * (`CREATE CHANGEFEED ... INTO $1 WITH cursor = $2`). The emulator needs the literal values to
 * validate and rewrite such a statement, so at Bind time each $n is replaced by a SQL literal of
 * the bound value and the statement is rewritten again. Text-format values become quoted strings;
 * binary values are decoded for the common scalar types.
 */
import { tokenize } from './lexer.js';
import { lit } from './literals.js';

export class ParamError extends Error {}

const TEXT_OIDS = new Set([0, 25, 1043, 19, 705, 1042, 18]);

function binaryToText(buf: Buffer, oid: number): string {
  switch (oid) {
    case 20:
      return buf.readBigInt64BE(0).toString();
    case 23:
      return String(buf.readInt32BE(0));
    case 21:
      return String(buf.readInt16BE(0));
    case 16:
      return buf[0] ? 'true' : 'false';
    default:
      if (TEXT_OIDS.has(oid)) return buf.toString('utf8');
      throw new ParamError(`the CockroachDB emulator cannot decode binary parameters of type OID ${oid} in this statement; send them as text`);
  }
}

/** Replaces $n placeholders with literals of the bound values. */
export function substituteParams(sql: string, params: Array<Buffer | null>, formats: number[], types: number[]): string {
  const value = (n: number): string => {
    const p = params[n - 1];
    if (p === undefined) throw new ParamError(`there is no parameter $${n}`);
    if (p === null) return 'NULL';
    const fmt = formats.length === 0 ? 0 : formats.length === 1 ? (formats[0] as number) : (formats[n - 1] ?? 0);
    return lit(fmt === 1 ? binaryToText(p, types[n - 1] ?? 0) : p.toString('utf8'));
  };
  let out = '';
  let pos = 0;
  for (const t of tokenize(sql)) {
    if (t.type !== 'param') continue;
    out += sql.slice(pos, t.start) + value(Number(t.text.slice(1)));
    pos = t.end;
  }
  return out + sql.slice(pos);
}
