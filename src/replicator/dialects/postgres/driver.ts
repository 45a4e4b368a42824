/**
 * node-postgres wiring: connection URL -> pg.Pool configuration (libpq-style TLS, application_name),
 * and the session settings every target connection gets. The only file besides introspection tests
 * that knows pg's configuration shape.
 */
import pg from 'pg';
import type { ConnectionOptions } from 'node:tls';
import { parseConn } from '../../../lib/conn.js';
import type { TargetPoolOptions } from '../../types.js';
import { resolveTls, tlsPlanFromParams, type TlsSettings } from '../shared/tls.js';

/**
 * Settings every target transaction starts with, so that timestamps without an offset and the values
 * readRows reads back mean the same on every connection: UTC, ISO dates, hex bytea, shortest-exact
 * floats. SET LOCAL in the BEGIN round trip leaves no session state behind, so the target may sit
 * behind a transaction-pooling PgBouncer.
 */
const SETTINGS =
  "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, MDY'; SET LOCAL IntervalStyle = 'postgres'; " +
  "SET LOCAL bytea_output = 'hex'; SET LOCAL extra_float_digits = 1";
export const PG_BEGIN = `BEGIN; ${SETTINGS}`;
export const PG_BEGIN_READ_ONLY = `BEGIN READ ONLY; ${SETTINGS}`;

function pgSsl(tls: TlsSettings | undefined): false | ConnectionOptions {
  if (!tls) return false;
  return {
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    rejectUnauthorized: tls.verifyChain,
    // verify-ca: check the chain but not the host name.
    ...(tls.verifyHost ? {} : { checkServerIdentity: () => undefined }),
  };
}

/**
 * Builds the pool configuration. pg's own URL parsing is not used: since pg-connection-string 2.7,
 * sslmode=require means verify-full unless uselibpqcompat is set
 * (https://github.com/brianc/node-postgres/tree/master/packages/pg-connection-string#tcp-connections),
 * and MOLT users' URLs follow libpq.
 */
export async function pgPoolConfig(conn: string, options: TargetPoolOptions): Promise<pg.PoolConfig> {
  const c = parseConn(conn, 'the target connection string');
  // Without sslmode the connection is plain, as node-postgres does by default (libpq would try TLS
  // first; name sslmode=prefer to get that).
  const plan = tlsPlanFromParams(c.params, 'disable');
  const timeoutSeconds = Number(c.params.get('connect_timeout') ?? '15');
  const base: pg.ClientConfig = {
    host: c.host || 'localhost',
    port: c.port ?? 5432,
    user: c.user || undefined,
    password: c.password || undefined,
    database: c.database || undefined,
    application_name: c.params.get('application_name') ?? options.applicationName ?? 'molt-failback',
    connectionTimeoutMillis: Number.isFinite(timeoutSeconds) && timeoutSeconds > 0 ? timeoutSeconds * 1000 : 15000,
    keepAlive: true,
  };
  const tls = await resolveTls(plan, async (t) => {
    const client = new pg.Client({ ...base, ssl: pgSsl(t) });
    // A failed probe must not raise an unhandled 'error' event.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } finally {
      await client.end().catch(() => undefined);
    }
  });
  return {
    ...base,
    ssl: pgSsl(tls),
    max: Math.max(1, options.maxPoolSize),
    idleTimeoutMillis: 60_000,
  };
}

export { pg };
