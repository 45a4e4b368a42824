/**
 * The PostgreSQL target dialect: `INSERT ... ON CONFLICT` upserts (unnest of array parameters where the
 * column types allow), deletes by primary key, catalog introspection, SQLSTATE classification,
 * privileges and verification reads. It must not be imported from outside src/replicator/dialects/,
 * and nothing outside this folder may import pg for the target role or hold PostgreSQL target SQL.
 */
import { parseConn } from '../../../lib/conn.js';
import type { Dialect, TargetPool, TargetPoolOptions } from '../../types.js';
import { DEFAULT_WRITE_LIMITS } from '../shared/statement.js';
import { makeTargetSchema, schemaFromSegments } from '../shared/target.js';
import { pg, pgPoolConfig } from './driver.js';
import { PostgresTargetPool } from './pool.js';

export const postgresDialect: Dialect = Object.freeze({
  name: 'postgres' as const,
  schemaPathSegments: 2 as const,
  schemaFromPath: (segments: readonly string[]) => schemaFromSegments(segments, 2, '/database/schema'),
  defaultSchema(conn: string) {
    const c = parseConn(conn, 'the target connection string');
    return makeTargetSchema([c.database || c.user || 'postgres', 'public']);
  },
  /** Builds the pool without connecting (except a TLS probe for sslmode=allow/prefer); use ping() to check. */
  async connect(conn: string, options: TargetPoolOptions): Promise<TargetPool> {
    const config = await pgPoolConfig(conn, options);
    const limits = { maxRowsPerStatement: options.maxRowsPerStatement ?? DEFAULT_WRITE_LIMITS.maxRowsPerStatement };
    return new PostgresTargetPool(postgresDialect, new pg.Pool(config), options.log, limits);
  },
});

export { classifyPg } from './errors.js';
export { castType as pgCastType, renderDelete as renderPgDelete, renderUpsert as renderPgUpsert } from './sql.js';
