/**
 * The sandbox's databases: the CockroachDB emulator over its own embedded PGlite, and the target,
 * started at the same time (each PGlite cold-starts in a few seconds, in its own thread); then the
 * example schema and the same seed data on both sides, which is what a completed forward migration
 * leaves behind. Every start registers its undo with the Cleanup first thing.
 */
import pg from 'pg';
import { silentLogger, type Logger } from '../lib/log.js';
import { startCrdbEmulator, type CrdbEmulator } from './crdb/index.js';
import type { Cleanup } from './cleanup.js';
import { startEmbeddedPostgres } from './embedded/index.js';
import { Model, seedRows } from './model.js';
import type { Random } from './random.js';
import { createTableStatements, EXAMPLE_TABLES, insertStatements, type Row } from './schema.js';
import { embeddedPostgresTarget, mariadbTarget, type SandboxTarget, type TargetKind } from './targets.js';

export interface Databases {
  readonly crdb: CrdbEmulator;
  readonly target: SandboxTarget;
}

export interface DatabaseOptions {
  readonly target: TargetKind;
  readonly mariadbUrl: string;
  readonly log?: Logger;
}

/** Starts the emulator (with its PGlite backing store) and the target concurrently. */
export async function startDatabases(cleanup: Cleanup, o: DatabaseOptions): Promise<Databases> {
  const log = o.log ?? silentLogger();
  const crdb = (async () => {
    const backing = await startEmbeddedPostgres();
    cleanup.add('the emulator\'s embedded PGlite', () => backing.stop());
    // The emulator's own gate is not needed: the embedded server keeps clients apart (embedded/server.ts).
    const emu = await startCrdbEmulator({ backend: { url: backing.url }, capturePollMs: 20, log });
    cleanup.add('the CockroachDB emulator', () => emu.stop());
    return emu;
  })();
  const target = (async () => {
    const t = o.target === 'mariadb' ? await mariadbTarget(o.mariadbUrl) : await embeddedPostgresTarget();
    cleanup.add(o.target === 'mariadb' ? 'the sandbox database on MariaDB' : 'the target\'s embedded PGlite', () => t.dispose(), { leftBehind: t.leftBehind });
    return t;
  })();
  // Both settle before either error is thrown, so everything started is registered for clean-up.
  const [c, t] = await Promise.allSettled([crdb, target]);
  if (c.status === 'rejected') throw c.reason;
  if (t.status === 'rejected') throw t.reason;
  return { crdb: c.value, target: t.value };
}

export interface Seeded {
  readonly model: Model;
  readonly rows: Record<(typeof EXAMPLE_TABLES)[number], number>;
}

/** Creates the example schema on both sides and loads the same seed rows into both. */
export async function createExampleData(db: Databases, rng: Random, employees: number): Promise<Seeded> {
  const model = new Model();
  const data: Record<(typeof EXAMPLE_TABLES)[number], Row[]> = seedRows(rng, model, employees);
  const crdbSide = async () => {
    const client = new pg.Client({ connectionString: db.crdb.url, application_name: 'molt-failback sandbox setup' });
    client.on('error', () => undefined);
    await client.connect();
    try {
      for (const s of createTableStatements('crdb')) await client.query(s);
      for (const t of EXAMPLE_TABLES) for (const s of insertStatements('crdb', t, data[t])) await client.query(s);
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  const targetSide = async () => {
    await db.target.exec(createTableStatements(db.target.flavour));
    for (const t of EXAMPLE_TABLES) await db.target.exec(insertStatements(db.target.flavour, t, data[t]));
  };
  await Promise.all([crdbSide(), targetSide()]);
  return { model, rows: { employees: data.employees.length, payments: data.payments.length, orders: data.orders.length } };
}
