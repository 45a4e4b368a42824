/**
 * SQL literal rendering for text the emulator generates. Values go into single-quoted literals with
 * quotes doubled (standard_conforming_strings is on in every supported backend); identifiers are
 * double-quoted. Never used for anything but emulator-built statements.
 */
export const lit = (v: string): string => `'${v.replace(/'/g, "''")}'`;
export const litOrNull = (v: string | null | undefined): string => (v === null || v === undefined ? 'NULL' : lit(v));
export const ident = (v: string): string => `"${v.replace(/"/g, '""')}"`;
export const bigLit = (v: bigint | number | string): string => {
  const s = String(v);
  if (!/^-?\d+$/.test(s)) throw new Error(`not an integer: ${s}`);
  return s;
};
