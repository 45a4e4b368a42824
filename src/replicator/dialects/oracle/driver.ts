/**
 * node-oracledb wiring, Thin mode only (pure JavaScript, no Oracle Client libraries:
 * https://node-oracledb.readthedocs.io/en/latest/user_guide/appendix_a.html). Declares the small
 * structural subset of the driver this dialect uses, so tests can hand in a fake at this boundary, and
 * builds pool attributes from an oracle:// URL.
 */
import { createRequire } from 'node:module';
import { parseConn } from '../../../lib/conn.js';
import type { TargetPoolOptions } from '../../types.js';

export interface OracleResult {
  readonly rows?: unknown[][];
  readonly rowsAffected?: number;
}

export interface OracleConnectionLike {
  execute(sql: string, binds?: unknown, options?: Record<string, unknown>): Promise<OracleResult>;
  executeMany(sql: string, binds: unknown[][], options?: Record<string, unknown>): Promise<OracleResult>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  /** Returns the connection to its pool; `drop` discards it instead. */
  close(options?: { drop?: boolean }): Promise<void>;
  readonly oracleServerVersionString?: string;
}

export interface OraclePoolLike {
  getConnection(): Promise<OracleConnectionLike>;
  close(drainTime?: number): Promise<void>;
}

/** The part of the oracledb module this dialect uses. */
export interface OracleDriverLike {
  createPool(attributes: Record<string, unknown>): Promise<OraclePoolLike>;
  readonly DB_TYPE_VARCHAR: unknown;
  readonly DB_TYPE_RAW: unknown;
  readonly DB_TYPE_CLOB: unknown;
  readonly DB_TYPE_BLOB: unknown;
}

/** Loads oracledb on first use only, so PostgreSQL and MySQL users never load it. */
export function loadOracleDriver(): OracleDriverLike {
  // oracledb ships no type declarations; OracleDriverLike is the contract we rely on.
  return createRequire(import.meta.url)('oracledb') as OracleDriverLike;
}

/**
 * Session settings for every new pooled connection (run from the pool's sessionCallback): '.' as the
 * decimal separator so TO_NUMBER reads CockroachDB's decimals whatever NLS_TERRITORY says; UTC so
 * TIMESTAMP WITH LOCAL TIME ZONE values are read and written as UTC instants; and binary sorting and
 * comparison, so readRows pages keys in the code-point order verification merges by (a linguistic
 * NLS_SORT would not).
 */
export const ORACLE_SESSION_SETUP =
  "ALTER SESSION SET NLS_NUMERIC_CHARACTERS = '.,' TIME_ZONE = 'UTC' NLS_SORT = 'BINARY' NLS_COMP = 'BINARY'";

/**
 * oracle://user:password@host:1521/SERVICE[?easy-connect-params] -> pool attributes. Query parameters
 * are passed on as Easy Connect Plus parameters (e.g. ?ssl_server_dn_match=true).
 */
export function oraclePoolAttributes(conn: string, options: TargetPoolOptions): Record<string, unknown> {
  const c = parseConn(conn, 'the target connection string');
  const query = c.url.search;
  const host = c.host.includes(':') ? `[${c.host}]` : c.host;
  return {
    user: c.user,
    password: c.password,
    connectString: `${host}:${c.port ?? 1521}/${c.database}${query}`,
    poolMin: 0,
    poolMax: Math.max(1, options.maxPoolSize),
    poolIncrement: 1,
    // Seconds; a closed port fails at once (NJS-503), an unanswered one after this long.
    connectTimeout: 15,
    transportConnectTimeout: 15,
    // Thin mode reports this as the PROGRAM column of V$SESSION.
    // oracledb rejects characters outside its network-name set; keep to a safe subset.
    program: (options.applicationName ?? 'molt-failback').replace(/[^A-Za-z0-9_.-]/g, '_'),
  };
}
