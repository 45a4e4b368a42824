/**
 * The MySQL 8 / MariaDB 10.11 target dialect: `INSERT ... ON DUPLICATE KEY UPDATE` upserts (VALUES() on
 * MariaDB, a row alias on MySQL 8.0.19+), deletes by primary key, information_schema introspection,
 * error-number classification, privileges and verification reads. It must not be imported from outside
 * src/replicator/dialects/, and nothing outside this folder may import mysql2 or hold MySQL target SQL.
 */
import type { Dialect, TargetPool, TargetPoolOptions } from '../../types.js';
import { DEFAULT_WRITE_LIMITS } from '../shared/statement.js';
import { makeTargetSchema, schemaFromSegments } from '../shared/target.js';
import { loadMysql, myPoolOptions, requireDatabase } from './driver.js';
import { MySqlTargetPool } from './pool.js';

export const mysqlDialect: Dialect = Object.freeze({
  name: 'mysql' as const,
  schemaPathSegments: 1 as const,
  schemaFromPath: (segments: readonly string[]) => schemaFromSegments(segments, 1, '/database'),
  defaultSchema: (conn: string) => makeTargetSchema([requireDatabase(conn)]),
  /** Builds the pool without connecting (except a TLS probe for sslmode=allow/prefer); use ping() to check. */
  async connect(conn: string, options: TargetPoolOptions): Promise<TargetPool> {
    const config = await myPoolOptions(conn, options);
    const limits = { maxRowsPerStatement: options.maxRowsPerStatement ?? DEFAULT_WRITE_LIMITS.maxRowsPerStatement };
    return new MySqlTargetPool(mysqlDialect, (await loadMysql()).createPool(config), options.log, limits);
  },
});

export { classifyMy } from './errors.js';
export { flavorFromVersion } from './driver.js';
