/**
 * Opens the two sides of a comparison through the replicator's dialects: the target through the dialect
 * its connection string names, CockroachDB through the postgres dialect (it speaks the pg protocol), so
 * both sides' values are normalised by the same readRows contract. Connection failures become AppErrors
 * that name the side and never the connection string.
 */
import { parseConn, redactText } from '../lib/conn.js';
import { AppError, ExitCode, isAppError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { Dialect, TargetPool, TargetSchema } from '../replicator/types.js';
// TODO(lead): import from '../replicator/index.js' once E2's entry point re-exports the dialects.
import { dialectByName, dialectForConn } from '../replicator/dialects/index.js';
import type { VerifyEndpoint } from './types.js';

export type Role = 'source' | 'target';

export const roleLabel = (role: Role) => (role === 'source' ? 'CockroachDB' : 'the target');
const settingOf = (role: Role) => (role === 'source' ? 'crdb.conn' : 'target.conn');

export interface OpenSide {
  readonly pool: TargetPool;
  /** The schema unqualified table names resolve in. */
  readonly schema: TargetSchema;
  /** Builds the schema a qualified CockroachDB name ("schema.table") points at. */
  schemaFor(qualifier: string): TargetSchema;
  /** Closes the pool. */
  close(): Promise<void>;
}

export async function openSide(endpoint: VerifyEndpoint, role: Role, log: Logger): Promise<OpenSide> {
  const dialect = dialectFor(endpoint.conn, role);
  const schema = parseSchema(dialect, endpoint.conn, endpoint.schema, role);
  let pool: TargetPool | undefined;
  try {
    pool = await dialect.connect(endpoint.conn, { maxPoolSize: 2, log, applicationName: 'molt-failback verify' });
    await pool.ping();
  } catch (err) {
    await pool?.close().catch(() => {});
    if (isAppError(err)) throw err;
    throw new AppError('UNREACHABLE', `Cannot connect to ${roleLabel(role)}: ${redactText((err as Error).message)}`, {
      exitCode: ExitCode.UNREACHABLE,
      cause: err,
      actions: [`Check ${settingOf(role)}: host, port, user, password and database, and that the server is running.`],
    });
  }
  const opened = pool;
  return { pool: opened, schema, schemaFor: (q) => qualifiedSchema(dialect, schema, q, role), close: () => opened.close() };
}

function dialectFor(conn: string, role: Role): Dialect {
  const kind = parseConn(conn, settingOf(role)).kind;
  if (role === 'source') {
    if (kind !== 'postgres') {
      throw new AppError('CONN_SCHEME', 'crdb.conn must be a postgres:// or postgresql:// URL (CockroachDB speaks the PostgreSQL protocol).', {
        exitCode: ExitCode.USAGE,
      });
    }
    return dialectByName('postgres');
  }
  return dialectForConn(conn);
}

function parseSchema(dialect: Dialect, conn: string, schema: string | undefined, role: Role): TargetSchema {
  if (schema === undefined) return dialect.defaultSchema(conn);
  try {
    return dialect.schemaFromPath(schema.split('.'));
  } catch (err) {
    throw new AppError('SCHEMA_INVALID', `The ${role === 'source' ? 'CockroachDB' : 'target'} schema "${schema}" is not valid: ${(err as Error).message}`, {
      exitCode: ExitCode.USAGE,
      actions: [dialect.schemaPathSegments === 2 ? 'Name a PostgreSQL-protocol schema as db.schema, e.g. defaultdb.public.' : 'Name a MySQL database as db, an Oracle schema as SCHEMA.'],
    });
  }
}

/** "schema.table" on CockroachDB: same database, another schema. One-segment dialects have no such form. */
function qualifiedSchema(dialect: Dialect, base: TargetSchema, qualifier: string, role: Role): TargetSchema {
  if (dialect.schemaPathSegments !== 2) {
    throw new AppError('TABLE_INVALID', `Table names on ${roleLabel(role)} cannot be qualified with a schema ("${qualifier}.").`, {
      exitCode: ExitCode.USAGE,
    });
  }
  return dialect.schemaFromPath([base.parts[0] as string, qualifier]);
}
