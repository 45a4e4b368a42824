/**
 * Quoting for the CockroachDB statements the steps build (CREATE CHANGEFEED, SHOW ZONE CONFIGURATION,
 * SET CLUSTER SETTING). Some of these statements take no placeholders, so values are inlined: string
 * literals use standard SQL quoting (a quote is doubled; CockroachDB treats backslashes literally in
 * '...' strings) and identifiers are always double-quoted so keywords and mixed case survive.
 */

export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('a SQL string literal cannot contain a NUL character');
  return `'${value.replace(/'/g, "''")}'`;
}

export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw new Error('a SQL identifier cannot contain a NUL character');
  return `"${name.replace(/"/g, '""')}"`;
}

/** A possibly qualified name, each part quoted: ["public", "employees"] -> "public"."employees". */
export const quoteQualified = (parts: readonly string[]): string => parts.map(quoteIdent).join('.');

/** A job id as CockroachDB prints it (INT8 text). Inlined only after this check. */
export function assertJobId(jobId: string): string {
  if (!/^\d{1,20}$/.test(jobId)) throw new Error(`"${jobId}" is not a job id`);
  return jobId;
}
