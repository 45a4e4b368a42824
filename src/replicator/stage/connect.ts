/**
 * Opens the staging pool: `--stagingSchema db.schema` means "connect to database db" (whatever database
 * the URL names), so every staging statement can use two-part names. With --stagingCreateSchema the
 * database is created first through the URL's own database, then the schema. Errors name the staging
 * host and database, never the connection string.
 */
import pg from 'pg';
import { AppError, ExitCode } from '../../lib/errors.js';
import { parseConn, redactText } from '../../lib/conn.js';
import type { Logger } from '../../lib/log.js';
import { stagingSchemaParts } from '../config.js';
import { ident } from './sql.js';

export interface StagingPoolOptions {
  readonly create: boolean;
  readonly maxPoolSize?: number;
  readonly idleMs?: number;
  readonly maxLifetimeMs?: number;
  readonly log: Logger;
  /** Connect timeout; staging that does not answer turns into 503s rather than hung requests. */
  readonly connectTimeoutMs?: number;
}

export interface StagingPool {
  readonly pool: pg.Pool;
  readonly database: string;
  readonly schema: string;
  /** "db.schema" for messages. */
  readonly name: string;
}

/** The staging URL pointed at another database. */
export function withDatabase(conn: string, database: string): string {
  const url = new URL(conn);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

function describe(conn: string, database: string): string {
  const p = parseConn(conn, 'stagingConn');
  return `${p.host || 'localhost'}:${p.port ?? 5432}/${database}`;
}

export function stagingError(err: unknown, conn: string, database: string, what: string): AppError {
  const e = err as { code?: string; message?: string };
  const where = describe(conn, database);
  const message = redactText(e?.message ?? String(err));
  if (e?.code === '3D000') {
    return new AppError('STAGING_MISSING', `the staging database "${database}" does not exist (${where}).`, {
      exitCode: ExitCode.FAILED,
      actions: ['Pass --stagingCreateSchema to create it, or point --stagingSchema at an existing db.schema.'],
      cause: err,
    });
  }
  if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET'].includes(e?.code ?? '') || /timeout/i.test(message)) {
    return new AppError('STAGING_UNREACHABLE', `staging is unreachable at ${where} while trying to ${what}: ${message}`, {
      exitCode: ExitCode.FAILED,
      actions: ['Check that the staging CockroachDB (or PostgreSQL) is running and that --stagingConn names the right host and port.'],
      cause: err,
    });
  }
  return new AppError('STAGING_FAILED', `staging (${where}) failed to ${what}: ${message}`, { exitCode: ExitCode.FAILED, cause: err });
}

function newPool(conn: string, options: StagingPoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: conn,
    max: options.maxPoolSize ?? 16,
    idleTimeoutMillis: options.idleMs ?? 60_000,
    maxLifetimeSeconds: options.maxLifetimeMs ? Math.max(1, Math.round(options.maxLifetimeMs / 1000)) : 0,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: 'molt-failback',
  });
  // Without a listener an idle client's error (staging restarted) would crash the process.
  pool.on('error', (err) => options.log.warn({ err: redactText(err.message) }, 'idle staging connection failed'));
  return pool;
}

/** Opens the pool to the staging database, creating database and schema when asked. */
export async function openStagingPool(conn: string, stagingSchema: string, options: StagingPoolOptions): Promise<StagingPool> {
  const { database, schema } = stagingSchemaParts(stagingSchema);
  const name = `${database}.${schema}`;
  if (options.create) {
    const bootstrap = new pg.Client({ connectionString: conn, connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000, application_name: 'molt-failback' });
    const ownDb = parseConn(conn, 'stagingConn').database || 'defaultdb';
    try {
      await bootstrap.connect();
      const exists = await bootstrap.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (exists.rowCount === 0) {
        try {
          // PostgreSQL has no CREATE DATABASE IF NOT EXISTS; a concurrent creator gives 42P04.
          await bootstrap.query(`CREATE DATABASE ${ident(database)}`);
          options.log.info({ database }, 'created the staging database');
        } catch (err) {
          if ((err as { code?: string }).code !== '42P04') throw err;
        }
      }
    } catch (err) {
      throw stagingError(err, conn, ownDb, `create the staging database "${database}"`);
    } finally {
      await bootstrap.end().catch(() => undefined);
    }
  }
  const pool = newPool(withDatabase(conn, database), options);
  try {
    if (options.create) {
      try {
        await pool.query(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
      } catch (err) {
        // Two instances starting together may race on the catalog; the schema exists either way.
        if (!['23505', '42P06'].includes((err as { code?: string }).code ?? '')) throw err;
      }
    } else {
      const found = await pool.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema]);
      if (found.rowCount === 0) {
        throw new AppError('STAGING_MISSING', `the staging schema ${name} does not exist.`, {
          exitCode: ExitCode.FAILED,
          actions: ['Pass --stagingCreateSchema to create it, or create it yourself: CREATE SCHEMA ' + ident(schema) + ';'],
        });
      }
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof AppError) throw err;
    throw stagingError(err, conn, database, `open the staging schema ${name}`);
  }
  return { pool, database, schema, name };
}
