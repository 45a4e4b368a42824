/**
 * mysql2 wiring: connection URL -> pool options (PostgreSQL-style sslmode/sslrootcert/sslcert/sslkey
 * mapped to TLS, as MOLT Replicator does for MySQL targets), the session settings every connection
 * gets, and the server flavour (MariaDB or MySQL, and which upsert syntax it wants).
 */
import type mysql from 'mysql2/promise';
import type { SslOptions } from 'mysql2';
import { AppError, ExitCode } from '../../../lib/errors.js';
import { parseConn } from '../../../lib/conn.js';
import type { TargetPoolOptions } from '../../types.js';
import { resolveTls, tlsPlanFromParams, type TlsSettings } from '../shared/tls.js';
import type { MyFlavor } from './introspect.js';
import type { UpsertStyle } from './sql.js';

/**
 * Every connection: UTC for TIMESTAMP columns; strict mode so a value that does not fit fails instead of
 * being truncated with a warning; and no NO_BACKSLASH_ESCAPES, because mysql2 escapes inlined strings
 * with backslashes.
 */
export const MY_SESSION_SETUP =
  "SET SESSION time_zone = '+00:00', SESSION sql_mode = CONCAT_WS(',', NULLIF(TRIM(BOTH ',' FROM " +
  "REPLACE(REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), ',NO_BACKSLASH_ESCAPES,', ','), ',STRICT_TRANS_TABLES,', ',')), ''), " +
  "'STRICT_TRANS_TABLES')";

function mySsl(tls: TlsSettings | undefined): SslOptions | undefined {
  if (!tls) return undefined;
  return {
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    rejectUnauthorized: tls.verifyChain,
    verifyIdentity: tls.verifyHost,
  };
}

export async function myPoolOptions(conn: string, options: TargetPoolOptions): Promise<mysql.PoolOptions> {
  const c = parseConn(conn, 'the target connection string');
  const plan = tlsPlanFromParams(c.params, 'disable');
  const base: mysql.ConnectionOptions = {
    host: c.host || 'localhost',
    port: c.port ?? 3306,
    user: c.user || undefined,
    password: c.password || undefined,
    database: c.database || undefined,
    connectTimeout: 15_000,
    // Exact numbers and dates as text: nothing passes through a JS number or Date.
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    decimalNumbers: false,
    multipleStatements: false,
    charset: 'UTF8MB4_GENERAL_CI',
    connectAttributes: { program_name: options.applicationName ?? 'molt-failback' },
  };
  const tls = await resolveTls(plan, async (t) => {
    const probe = await (await loadMysql()).createConnection({ ...base, ssl: mySsl(t) });
    await probe.end();
  });
  return {
    ...base,
    ssl: mySsl(tls),
    connectionLimit: Math.max(1, options.maxPoolSize),
    maxIdle: Math.max(1, options.maxPoolSize),
    idleTimeout: 60_000,
    enableKeepAlive: true,
  };
}

export interface ServerFlavor {
  readonly flavor: MyFlavor;
  readonly upsertStyle: UpsertStyle;
}

/** MariaDB (VALUES() in ON DUPLICATE KEY UPDATE) or MySQL (row alias from 8.0.19), from VERSION(). */
export function flavorFromVersion(version: string): ServerFlavor {
  if (/mariadb/i.test(version)) return { flavor: 'mariadb', upsertStyle: 'values-function' };
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  const [major, minor, patch] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
  const alias = major > 8 || (major === 8 && (minor > 0 || patch >= 19));
  return { flavor: 'mysql', upsertStyle: alias ? 'row-alias' : 'values-function' };
}

export function requireDatabase(conn: string): string {
  const c = parseConn(conn, 'the target connection string');
  if (!c.database) {
    throw new AppError('TARGET_NO_DATABASE', 'The MySQL target connection string names no database.', {
      exitCode: ExitCode.USAGE,
      actions: ['Add the database to the URL path: mysql://user:password@host:3306/<database>.'],
    });
  }
  return c.database;
}

/**
 * mysql2, loaded on first use: it costs about 16 MiB of resident memory, which an engine writing to a
 * PostgreSQL or Oracle target should not carry.
 */
export async function loadMysql(): Promise<typeof mysql> {
  return (await import('mysql2/promise')).default;
}
