/**
 * The target dialects: which one a connection string or name selects, and opening a pool. This folder
 * (dialects/<db>/) is the only place in the code base that imports pg (for the target), mysql2 or
 * oracledb, or holds target SQL; everything else talks to a target through the Dialect and TargetPool
 * contracts in ../types.ts. Nothing here may log a connection string (use redactConn) or keep
 * module-level state beyond the frozen dialect objects.
 */
import { parseConn } from '../../lib/conn.js';
import { silentLogger } from '../../lib/log.js';
import type { Dialect, DialectName, TargetPool, TargetPoolOptions } from '../types.js';
import { mysqlDialect } from './mysql/index.js';
import { oracleDialect } from './oracle/index.js';
import { postgresDialect } from './postgres/index.js';

const DIALECTS: Readonly<Record<DialectName, Dialect>> = Object.freeze({
  postgres: postgresDialect,
  mysql: mysqlDialect,
  oracle: oracleDialect,
});

export function dialectByName(name: DialectName): Dialect {
  return DIALECTS[name];
}

/**
 * The dialect for a target URL: postgres:// or postgresql://, mysql://, oracle://. Anything else is an
 * AppError (CONN_SCHEME or CONN_INVALID, exit code 2) that never echoes the URL.
 */
export function dialectForConn(conn: string): Dialect {
  return DIALECTS[parseConn(conn, 'the target connection string').kind];
}

/** Opens a target pool for a connection string. No connection is made yet (see Dialect.connect). */
export function openTarget(conn: string, options: Partial<TargetPoolOptions> = {}): Promise<TargetPool> {
  return dialectForConn(conn).connect(conn, {
    maxPoolSize: options.maxPoolSize ?? 8,
    log: options.log ?? silentLogger(),
    applicationName: options.applicationName ?? 'molt-failback',
    ...(options.maxRowsPerStatement !== undefined ? { maxRowsPerStatement: options.maxRowsPerStatement } : {}),
  });
}

export {
  canonicalBool,
  canonicalByClass,
  canonicalBytes,
  canonicalDate,
  canonicalDecimal,
  canonicalFloat,
  canonicalJson,
  canonicalTime,
  canonicalTimestamp,
  canonicalTimestamptz,
  canonicalUuid,
} from './shared/canonical.js';
export { mysqlDialect, oracleDialect, postgresDialect };
