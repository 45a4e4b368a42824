/**
 * What the failback user lacks (SELECT, INSERT, UPDATE, DELETE) on MySQL / MariaDB tables, from
 * information_schema's USER_, SCHEMA_ and TABLE_PRIVILEGES, and the GRANT statements that fix it.
 * Those views show every account only to a user who may read the mysql schema; others see their own
 * grants, so check either as an admin or as the failback user itself. Privileges held through a role
 * appear under the role's name, not the user's: when the check runs as the failback user itself, what
 * the views say is missing is confirmed by letting the server judge each statement on no rows
 * (`... WHERE FALSE`), which counts the roles enabled at login. Changes nothing.
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
  if ([...missing.values()].some((m) => m.length > 0) && (await isCurrentUser(db, user))) {
    for (const [table, lacking] of missing) missing.set(table, await stillMissing(db, schema, table, lacking));
  }
  return { user, missing, absentTables };
}

async function isCurrentUser(db: MyQueryable, user: string): Promise<boolean> {
  const [row] = await rowsOf<{ u: string }>(db, 'SELECT CURRENT_USER() AS u');
  const a = splitAccount(row?.u ?? '');
  const b = splitAccount(user);
  return a.name === b.name && a.host === b.host;
}

/** ER_TABLEACCESS_DENIED_ERROR and ER_COLUMNACCESS_DENIED_ERROR: the privilege is really missing. */
const DENIED = new Set([1142, 1143]);

/** Of `lacking`, the privileges the server refuses for the current session (statements that match no row). */
async function stillMissing(db: MyQueryable, schema: TargetSchema, table: string, lacking: readonly string[]): Promise<string[]> {
  if (lacking.length === 0) return [];
  const ref = tableRef(schema, table);
  const [column] = await rowsOf<{ c: string }>(db, 'SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION LIMIT 1', [schema.parts[0], table]);
  // Without any privilege on the table its columns are invisible, and nothing can be probed.
  if (!column) return [...lacking];
  const col = `\`${column.c.replace(/`/g, '``')}\``;
  const probes: Record<string, string> = {
    SELECT: `SELECT 1 FROM ${ref} WHERE FALSE`,
    INSERT: `INSERT INTO ${ref} (${col}) SELECT NULL FROM DUAL WHERE FALSE`,
    UPDATE: `UPDATE ${ref} SET ${col} = NULL WHERE FALSE`,
    DELETE: `DELETE FROM ${ref} WHERE FALSE`,
  };
  const out: string[] = [];
  for (const p of lacking) {
    const sql = probes[p];
    if (!sql) {
      out.push(p);
      continue;
    }
    try {
      await db.query(sql);
    } catch (err) {
      if (DENIED.has((err as { errno?: number }).errno ?? 0)) out.push(p);
      // Any other error (a trigger, a constraint) came after the privilege check: the privilege is held.
    }
  }
  return out;
}

export function myGrantStatements(schema: TargetSchema, report: PrivilegeReport): string[] {
  const to = accountLiteral(report.user);
  const out: string[] = [];
  for (const [table, privileges] of report.missing) {
    if (privileges.length > 0) out.push(`GRANT ${privileges.join(', ')} ON ${tableRef(schema, table)} TO ${to}`);
  }
  return out;
}

