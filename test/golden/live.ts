/**
 * Live targets for the dialect and apply integration tests: one fresh PostgreSQL database and one fresh
 * MariaDB database per test file (test/helpers/databases.ts), each with a TargetPool opened through
 * the product's own openTarget(). Tests loop over the returned list so the same case runs on both,
 * kysely style. closeLiveTargets() closes every pool before dropping the databases.
 */
import { silentLogger, type Logger } from '../../src/lib/log.js';
import { openTarget } from '../../src/replicator/dialects/index.js';
import type { TargetPool, TargetSchema } from '../../src/replicator/types.js';
import { createMariaDbDatabase, createPgDatabase, type TestDatabase } from '../helpers/databases.js';

export interface LiveTarget {
  readonly dialect: 'postgres' | 'mysql';
  readonly label: 'PostgreSQL' | 'MariaDB';
  readonly db: TestDatabase;
  /** Pool as the admin user (postgres / root). */
  readonly pool: TargetPool;
  readonly schema: TargetSchema;
  /** Quotes an identifier for test DDL. */
  quote(name: string): string;
  /** Schema-qualified, quoted table name for test DDL. */
  table(name: string): string;
  /** Extra pools opened by a test, closed by closeLiveTargets. */
  readonly extraPools: TargetPool[];
}

export async function openLiveTargets(prefix: string, options: { log?: Logger; maxRowsPerStatement?: number } = {}): Promise<LiveTarget[]> {
  const log = options.log ?? silentLogger();
  const out: LiveTarget[] = [];
  const pgDb = await createPgDatabase(`${prefix}_pg`);
  out.push({
    dialect: 'postgres',
    label: 'PostgreSQL',
    db: pgDb,
    pool: await openTarget(pgDb.url, { log, maxPoolSize: 6, maxRowsPerStatement: options.maxRowsPerStatement }),
    schema: { parts: [pgDb.name, 'public'], key: `${pgDb.name}.public` },
    quote: (n) => `"${n.replace(/"/g, '""')}"`,
    table: (n) => `"public"."${n.replace(/"/g, '""')}"`,
    extraPools: [],
  });
  const myDb = await createMariaDbDatabase(`${prefix}_my`);
  out.push({
    dialect: 'mysql',
    label: 'MariaDB',
    db: myDb,
    pool: await openTarget(myDb.url, { log, maxPoolSize: 6, maxRowsPerStatement: options.maxRowsPerStatement }),
    schema: { parts: [myDb.name], key: myDb.name },
    quote: (n) => `\`${n.replace(/`/g, '``')}\``,
    table: (n) => `\`${myDb.name}\`.\`${n.replace(/`/g, '``')}\``,
    extraPools: [],
  });
  return out;
}

export async function closeLiveTargets(targets: readonly LiveTarget[]): Promise<void> {
  for (const t of targets) {
    for (const p of t.extraPools) await p.close().catch(() => undefined);
    await t.pool.close();
    await t.db.drop();
  }
}

/** The URL of a live target's database for another user (trust auth on PostgreSQL, a password on MariaDB). */
export function urlAs(target: LiveTarget, user: string, password?: string): string {
  const u = new URL(target.db.url);
  u.username = encodeURIComponent(user);
  u.password = password ? encodeURIComponent(password) : '';
  return u.toString();
}
