/**
 * The Oracle target dialect (node-oracledb Thin mode): MERGE upserts and primary-key deletes sent as
 * executeMany array binds, ALL_* introspection, ORA-/NJS- classification, privileges and verification
 * reads. Identifiers are quoted in catalog spelling (usually upper case). It must not be imported from
 * outside src/replicator/dialects/, and nothing outside this folder may import oracledb or hold Oracle
 * target SQL. No Oracle server is reachable from this project's tests: the SQL is frozen by golden
 * files and the driver code tested against a fake driver.
 */
import { parseConn } from '../../../lib/conn.js';
import type { Dialect, TargetPool, TargetPoolOptions } from '../../types.js';
import { DEFAULT_WRITE_LIMITS } from '../shared/statement.js';
import { makeTargetSchema, schemaFromSegments } from '../shared/target.js';
import { ORACLE_SESSION_SETUP, loadOracleDriver, oraclePoolAttributes, type OracleConnectionLike, type OracleDriverLike } from './driver.js';
import { OracleTargetPool } from './pool.js';

/** Builds the Oracle dialect over a driver (the real oracledb by default; tests pass a fake). */
export function makeOracleDialect(loadDriver: () => OracleDriverLike = loadOracleDriver): Dialect {
  const dialect: Dialect = Object.freeze({
    name: 'oracle' as const,
    schemaPathSegments: 1 as const,
    schemaFromPath: (segments: readonly string[]) => schemaFromSegments(segments, 1, '/SCHEMA'),
    defaultSchema(conn: string) {
      // Oracle folds unquoted user names to upper case: the schema of user "migration_user" is MIGRATION_USER.
      return makeTargetSchema([parseConn(conn, 'the target connection string').user.toUpperCase()]);
    },
    /** Creates the pool (poolMin 0: no connection is made until first use; use ping() to check). */
    async connect(conn: string, options: TargetPoolOptions): Promise<TargetPool> {
      const driver = loadDriver();
      const pool = await driver.createPool({
        ...oraclePoolAttributes(conn, options),
        // Runs for each new session before first use (callback style is what oracledb calls).
        sessionCallback: (c: OracleConnectionLike, _tag: string, done: (err?: unknown) => void) => {
          c.execute(ORACLE_SESSION_SETUP).then(
            () => done(),
            (err: unknown) => done(err),
          );
        },
      });
      const limits = { maxRowsPerStatement: options.maxRowsPerStatement ?? DEFAULT_WRITE_LIMITS.maxRowsPerStatement };
      return new OracleTargetPool(dialect, driver, pool, options.log, limits);
    },
  });
  return dialect;
}

export const oracleDialect: Dialect = makeOracleDialect();

export { classifyOracle } from './errors.js';
