/**
 * Per-test-file databases on the real PostgreSQL and MariaDB servers. Each call creates a uniquely named
 * database and returns a drop() to call in `after()`. An unreachable server fails the test with the URL
 * and the command that starts it: integration tests never skip silently.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import mysql from 'mysql2/promise';

export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const MARIADB_ADMIN_URL = process.env.TEST_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/mysql';

export interface TestDatabase {
  name: string;
  /** Connection URL to the new database. */
  url: string;
  drop(): Promise<void>;
}

const uniqueName = (prefix: string) =>
  `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

function unreachable(kind: string, url: string, start: string, err: unknown): Error {
  return new Error(
    `${kind} is not reachable at ${url} (${(err as Error).message}). Integration tests need it running.\n` +
      `Start it with: ${start}`,
  );
}

export async function createPgDatabase(prefix: string): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  try {
    await admin.connect();
  } catch (err) {
    throw unreachable('PostgreSQL', PG_ADMIN_URL, 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start', err);
  }
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export async function createMariaDbDatabase(prefix: string): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  let conn: mysql.Connection;
  try {
    conn = await mysql.createConnection(MARIADB_ADMIN_URL);
  } catch (err) {
    throw unreachable('MariaDB', MARIADB_ADMIN_URL, 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd', err);
  }
  try {
    await conn.query(`CREATE DATABASE \`${name}\``);
  } finally {
    await conn.end();
  }
  const url = new URL(MARIADB_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const c = await mysql.createConnection(MARIADB_ADMIN_URL);
      try {
        await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await c.end();
      }
    },
  };
}
