/**
 * What the failback user lacks on a PostgreSQL schema (USAGE) and its tables (SELECT, INSERT, UPDATE,
 * DELETE), and the GRANT statements a DBA runs to fix it. Checking is read-only.
 */
import type { PrivilegeReport, TargetSchema } from '../../types.js';
import type { PgQueryable } from './introspect.js';
import { quoteIdent, tableRef } from './sql.js';

export const TABLE_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;

const PRIVILEGES_SQL = `
SELECT c.relname AS table_name,
       has_table_privilege($1, c.oid, 'SELECT') AS "SELECT",
       has_table_privilege($1, c.oid, 'INSERT') AS "INSERT",
       has_table_privilege($1, c.oid, 'UPDATE') AS "UPDATE",
       has_table_privilege($1, c.oid, 'DELETE') AS "DELETE"
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $2 AND c.relkind IN ('r', 'p') AND lower(c.relname) = ANY($3::text[])`;

export async function checkPgPrivileges(
  db: PgQueryable,
  schema: TargetSchema,
  user: string,
  tables: readonly string[],
): Promise<PrivilegeReport> {
  const nsp = schema.parts[schema.parts.length - 1]!;
  const usage = await db.query<{ usage: boolean | null }>(
    `SELECT has_schema_privilege($1, n.oid, 'USAGE') AS usage FROM pg_catalog.pg_namespace n WHERE n.nspname = $2`,
    [user, nsp],
  );
  const { rows } = await db.query<Record<string, unknown> & { table_name: string }>(PRIVILEGES_SQL, [
    user,
    nsp,
    tables.map((t) => t.toLowerCase()),
  ]);
  // Report in the order the tables were asked for.
  const byLower = new Map(rows.map((r) => [r.table_name.toLowerCase(), r]));
  const missing = new Map<string, string[]>();
  const absentTables: string[] = [];
  for (const t of tables) {
    const r = byLower.get(t.toLowerCase());
    if (!r) absentTables.push(t);
    else missing.set(r.table_name, TABLE_PRIVILEGES.filter((p) => r[p] !== true));
  }
  const schemaMissing = usage.rows[0]?.usage === true ? [] : ['USAGE'];
  return { user, missing, absentTables, schemaMissing };
}

export function pgGrantStatements(schema: TargetSchema, report: PrivilegeReport): string[] {
  const out: string[] = [];
  const grantee = quoteIdent(report.user);
  if (report.schemaMissing?.includes('USAGE')) {
    out.push(`GRANT USAGE ON SCHEMA ${quoteIdent(schema.parts[schema.parts.length - 1]!)} TO ${grantee}`);
  }
  for (const [table, privileges] of report.missing) {
    if (privileges.length > 0) out.push(`GRANT ${privileges.join(', ')} ON TABLE ${tableRef(schema, table)} TO ${grantee}`);
  }
  return out;
}
