/**
 * The steps' one door to the target database: the dialect for a connection string, the target schema
 * the failback writes to (configured, or the dialect's default for the connection), and pools. Target
 * SQL never appears in src/steps: it lives in the dialects, reached through TargetPool.
 */
import { dialectForConn } from '../../replicator/index.js';
import type { Dialect, TargetPool, TargetSchema } from '../../replicator/types.js';
import type { Logger } from '../../lib/log.js';
import { AppError, ExitCode } from '../../lib/errors.js';
import type { FailbackConfig } from '../config.js';

export { dialectForConn };

/**
 * The target schema: target.schema split into path segments ("db.schema" for PostgreSQL, "db" for
 * MySQL, "SCHEMA" for Oracle), or the dialect's default for the connection string.
 */
export function targetSchemaFor(config: Pick<FailbackConfig, 'target'>, dialect: Dialect = dialectForConn(config.target.conn)): TargetSchema {
  const given = config.target.schema;
  if (given === undefined) return dialect.defaultSchema(config.target.conn);
  const segments = given.split('.');
  if (segments.length !== dialect.schemaPathSegments || segments.some((s) => s === '')) {
    const shape = dialect.schemaPathSegments === 2 ? 'db.schema (e.g. migration_db.migration_schema)' : dialect.name === 'oracle' ? 'SCHEMA (e.g. MIGRATION_SCHEMA)' : 'db (e.g. migration_db)';
    throw new AppError('TARGET_SCHEMA_INVALID', `target.schema "${given}" does not fit a ${dialect.name} target, which names its schema as ${shape}.`, {
      exitCode: ExitCode.USAGE,
      actions: [`Set --target-schema to ${shape}, or leave it out to use the connection string's default.`],
    });
  }
  return dialect.schemaFromPath(segments);
}

/** Human form of a target schema ("migration_db.public"). */
export const schemaLabel = (schema: TargetSchema): string => schema.parts.join('.');

export async function openTargetPool(conn: string, log: Logger, applicationName = 'molt-failback'): Promise<TargetPool> {
  return dialectForConn(conn).connect(conn, { maxPoolSize: 2, log, applicationName });
}
