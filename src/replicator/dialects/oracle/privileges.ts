/**
 * What the failback user lacks (SELECT, INSERT, UPDATE, DELETE) on each table of an Oracle schema, and
 * the per-table GRANT statements. Grants are read from ALL_TAB_PRIVS (direct and PUBLIC grants); when
 * the checked user is the connected one, its enabled roles (ROLE_TAB_PRIVS) and ANY privileges
 * (SESSION_PRIVS) count too. ALL_TABLES only lists tables the connected user can see: checked as an
 * admin, an unlisted table is absent; checked by the failback user itself, an unlisted table may just be
 * one it has no grant on, so it is reported as lacking all four privileges (the GRANT then fails
 * clearly if the table really is missing). Read-only.
 */
import type { PrivilegeReport, TargetSchema } from '../../types.js';
import type { OracleConnectionLike } from './driver.js';
import { quoteIdent, tableRef } from './sql.js';

export const TABLE_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;

async function rows(conn: OracleConnectionLike, sql: string, binds: Record<string, unknown>): Promise<unknown[][]> {
  return ((await conn.execute(sql, binds)).rows ?? []) as unknown[][];
}

export async function checkOraclePrivileges(
  conn: OracleConnectionLike,
  schema: TargetSchema,
  user: string,
  tables: readonly string[],
): Promise<PrivilegeReport> {
  const owner = schema.parts[0]!;
  const existing = await rows(conn, 'SELECT TABLE_NAME FROM ALL_TABLES WHERE OWNER = :owner', { owner });
  const byUpper = new Map(existing.map((r) => [String(r[0]).toUpperCase(), String(r[0])]));
  const held = new Map<string, Set<string>>();
  const add = (table: string, privilege: string) => {
    const k = table.toUpperCase();
    if (!held.has(k)) held.set(k, new Set());
    held.get(k)!.add(privilege.toUpperCase());
  };
  const isOwner = user.toUpperCase() === owner.toUpperCase();
  const any = new Set<string>();
  let selfCheck = false;
  if (!isOwner) {
    for (const r of await rows(
      conn,
      `SELECT TABLE_NAME, PRIVILEGE FROM ALL_TAB_PRIVS WHERE TABLE_SCHEMA = :owner AND GRANTEE IN (:grantee, 'PUBLIC')`,
      { owner, grantee: user },
    )) {
      add(String(r[0]), String(r[1]));
    }
    const current = String((await rows(conn, 'SELECT USER FROM DUAL', {}))[0]?.[0] ?? '');
    selfCheck = current.toUpperCase() === user.toUpperCase();
    if (selfCheck) {
      for (const r of await rows(conn, 'SELECT TABLE_NAME, PRIVILEGE FROM ROLE_TAB_PRIVS WHERE OWNER = :owner', { owner })) {
        add(String(r[0]), String(r[1]));
      }
      for (const r of await rows(conn, `SELECT PRIVILEGE FROM SESSION_PRIVS WHERE PRIVILEGE LIKE '% ANY TABLE'`, {})) {
        any.add(String(r[0]).replace(/ ANY TABLE$/, '').toUpperCase());
      }
    }
  }
  const missing = new Map<string, string[]>();
  const absentTables: string[] = [];
  for (const t of tables) {
    const name = byUpper.get(t.toUpperCase());
    if (!name) {
      // Unquoted Oracle names are upper case: the likely catalog spelling of an invisible table.
      if (selfCheck) missing.set(t.toUpperCase(), [...TABLE_PRIVILEGES]);
      else absentTables.push(t);
      continue;
    }
    const mine = held.get(name.toUpperCase()) ?? new Set();
    missing.set(
      name,
      isOwner ? [] : TABLE_PRIVILEGES.filter((p) => !mine.has(p) && !any.has(p)),
    );
  }
  return { user, missing, absentTables };
}

export function oracleGrantStatements(schema: TargetSchema, report: PrivilegeReport): string[] {
  const out: string[] = [];
  for (const [table, privileges] of report.missing) {
    if (privileges.length > 0) out.push(`GRANT ${privileges.join(', ')} ON ${tableRef(schema, table)} TO ${quoteIdent(report.user)}`);
  }
  return out;
}
