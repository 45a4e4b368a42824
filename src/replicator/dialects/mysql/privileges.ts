/**
 * What the failback user lacks (SELECT, INSERT, UPDATE, DELETE) on MySQL / MariaDB tables, from
 * information_schema's USER_, SCHEMA_ and TABLE_PRIVILEGES, and the GRANT statements that fix it.
 * Those views show every account only to a user who may read the mysql schema; others see their own
 * grants, so check either as an admin or as the failback user itself. Privileges held through roles
 * are not seen. Read-only.
 */
import type { PrivilegeReport, TargetSchema } from '../../types.js';
import { rowsOf, type MyQueryable } from './introspect.js';
import { tableRef } from './sql.js';

export const TABLE_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;

/** "name@host" (as CURRENT_USER() returns it) -> name and host; a bare name means any host ('%'). */
export function splitAccount(user: string): { name: string; host: string } {
  const at = user.lastIndexOf('@');
  if (at < 0) return { name: user, host: '%' };
  return { name: user.slice(0, at), host: user.slice(at + 1) || '%' };
}

const quoteString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

/** The account as information_schema's GRANTEE column and GRANT ... TO spell it: 'name'@'host'. */
export function accountLiteral(user: string): string {
  const { name, host } = splitAccount(user);
  return `${quoteString(name)}@${quoteString(host)}`;
}

export async function checkMyPrivileges(
  db: MyQueryable,
  schema: TargetSchema,
  user: string,
  tables: readonly string[],
): Promise<PrivilegeReport> {
  const grantee = accountLiteral(user);
  const database = schema.parts[0]!;
  const global = await rowsOf<{ p: string }>(db, 'SELECT PRIVILEGE_TYPE AS p FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ?', [grantee]);
  const onSchema = await rowsOf<{ p: string }>(
    db,
    'SELECT PRIVILEGE_TYPE AS p FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ? AND TABLE_SCHEMA = ?',
    [grantee, database],
  );
  const onTables = await rowsOf<{ t: string; p: string }>(
    db,
    'SELECT TABLE_NAME AS t, PRIVILEGE_TYPE AS p FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = ? AND TABLE_SCHEMA = ?',
    [grantee, database],
  );
  const existing = await rowsOf<{ t: string }>(
    db,
    "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'",
    [database],
  );
  const broad = new Set([...global, ...onSchema].map((r) => r.p.toUpperCase()));
  const perTable = new Map<string, Set<string>>();
  for (const r of onTables) {
    const k = r.t.toLowerCase();
    if (!perTable.has(k)) perTable.set(k, new Set());
    perTable.get(k)!.add(r.p.toUpperCase());
  }
  const byLower = new Map(existing.map((r) => [r.t.toLowerCase(), r.t]));
  const missing = new Map<string, string[]>();
  const absentTables: string[] = [];
  for (const t of tables) {
    const name = byLower.get(t.toLowerCase());
    if (!name) {
      absentTables.push(t);
      continue;
    }
    const held = perTable.get(name.toLowerCase()) ?? new Set();
    missing.set(
      name,
      TABLE_PRIVILEGES.filter((p) => !broad.has(p) && !broad.has('ALL PRIVILEGES') && !held.has(p)),
    );
  }
  return { user, missing, absentTables };
}

export function myGrantStatements(schema: TargetSchema, report: PrivilegeReport): string[] {
  const to = accountLiteral(report.user);
  const out: string[] = [];
  for (const [table, privileges] of report.missing) {
    if (privileges.length > 0) out.push(`GRANT ${privileges.join(', ')} ON ${tableRef(schema, table)} TO ${to}`);
  }
  return out;
}

