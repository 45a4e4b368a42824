/**
 * The sandbox's failback target (the "original database" the failback writes back to): PostgreSQL on
 * embedded PGlite by default, or a throw-away database created on a reachable MariaDB server and
 * dropped again at the end. Statements go through the engine's own dialect layer (openTarget +
 * execAdmin), so no target driver is imported here.
 */
import { randomBytes } from 'node:crypto';
import { redactConn } from '../lib/conn.js';
import { AppError, ExitCode } from '../lib/errors.js';
import { openTarget, type TargetPool } from '../replicator/index.js';
import { startEmbeddedPostgres } from './embedded/index.js';
import type { Flavour } from './schema.js';

export type TargetKind = 'postgres' | 'mariadb';

export interface SandboxTarget {
  readonly kind: TargetKind;
  readonly flavour: Flavour;
  /** Connection string of the target database (what the wizard gets as target.conn). */
  readonly url: string;
  /** What it is, for the output ("PostgreSQL on embedded PGlite", "MariaDB at 127.0.0.1:3306, database x"). */
  readonly description: string;
  /** Runs DDL and seed statements one by one. */
  exec(statements: readonly string[]): Promise<void>;
  version(): Promise<string>;
  /** Closes connections; drops the sandbox database (MariaDB) or stops PGlite. Idempotent. */
  dispose(): Promise<void>;
  /** What an immediate exit (second Ctrl-C) leaves behind and how to remove it; absent when nothing outlives the process. */
  readonly leftBehind?: string;
}

async function withPool<T>(url: string, fn: (pool: TargetPool) => Promise<T>): Promise<T> {
  const pool = await openTarget(url, { maxPoolSize: 2 });
  try {
    return await fn(pool);
  } finally {
    await pool.close();
  }
}

/** PostgreSQL 18 (PGlite) in a worker thread, served on a free local port. */
export async function embeddedPostgresTarget(): Promise<SandboxTarget> {
  const db = await startEmbeddedPostgres();
  let pool: Promise<TargetPool> | undefined;
  const getPool = () => (pool ??= openTarget(db.url, { maxPoolSize: 2 }));
  let disposed: Promise<void> | undefined;
  return {
    kind: 'postgres',
    flavour: 'postgres',
    url: db.url,
    description: 'PostgreSQL on embedded PGlite',
    exec: async (statements) => (await getPool()).execAdmin(statements),
    version: async () => (await getPool()).version(),
    dispose() {
      disposed ??= (async () => {
        if (pool) await (await pool).close().catch(() => undefined);
        await db.stop();
      })();
      return disposed;
    },
  };
}

/** A fresh database `molt_sandbox_<random>` on the MariaDB (or MySQL) server at `adminUrl`. */
export async function mariadbTarget(adminUrl: string): Promise<SandboxTarget> {
  const name = `molt_sandbox_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = new URL(adminUrl);
  try {
    await withPool(adminUrl, (p) => p.execAdmin([`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`]));
  } catch (err) {
    throw new AppError('SANDBOX_MARIADB_UNREACHABLE', `Cannot create a sandbox database on MariaDB at ${redactConn(adminUrl)}: ${(err as Error).message}`, {
      exitCode: ExitCode.UNREACHABLE,
      actions: [
        'Start MariaDB (for example: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd), or point --mariadb-url at one where this user may CREATE DATABASE.',
        'Or run the sandbox with its embedded PostgreSQL target: molt-failback sandbox (without --target mariadb).',
      ],
      cause: err,
    });
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let pool: Promise<TargetPool> | undefined;
  const getPool = () => (pool ??= openTarget(url.toString(), { maxPoolSize: 2 }));
  let disposed: Promise<void> | undefined;
  return {
    kind: 'mariadb',
    flavour: 'mysql',
    url: url.toString(),
    description: `MariaDB at ${admin.host}, database ${name} (created for this run)`,
    leftBehind: `database ${name} on MariaDB at ${admin.host}: remove it with DROP DATABASE \`${name}\`;`,
    exec: async (statements) => (await getPool()).execAdmin(statements),
    version: async () => (await getPool()).version(),
    dispose() {
      disposed ??= (async () => {
        if (pool) await (await pool).close().catch(() => undefined);
        await withPool(adminUrl, (p) => p.execAdmin([`DROP DATABASE IF EXISTS \`${name}\``]));
      })();
      return disposed;
    },
  };
}
