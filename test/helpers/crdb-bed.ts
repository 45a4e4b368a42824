/**
 * A CockroachDB emulator (src/sandbox/crdb) over a fresh real PostgreSQL database, plus a target
 * database, for the CockroachDB-side step tests. Everything is dropped and stopped by close().
 */
import pg from 'pg';
import { startCrdbEmulator, type CrdbEmulator } from '../../src/sandbox/crdb/index.js';
import { createMariaDbDatabase, createPgDatabase, type TestDatabase } from './databases.js';

export interface CrdbWorld {
  emu: CrdbEmulator;
  backend: TestDatabase;
  /** Runs SQL on the emulator as root (what an operator would type). */
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function startCrdbWorld(prefix: string, options: { password?: string } = {}): Promise<CrdbWorld> {
  const backend = await createPgDatabase(`${prefix}_crdb`);
  const emu = await startCrdbEmulator({ backend: { url: backend.url }, capturePollMs: 20, password: options.password });
  const client = new pg.Client({ connectionString: emu.url });
  await client.connect();
  return {
    emu,
    backend,
    async sql<T>(text: string, params?: unknown[]) {
      return (await client.query(text, params)).rows as T[];
    },
    async close() {
      await client.end().catch(() => undefined);
      await emu.stop();
      await backend.drop();
    },
  };
}

export async function targetDatabase(kind: 'postgres' | 'mariadb', prefix: string): Promise<TestDatabase> {
  return kind === 'postgres' ? createPgDatabase(`${prefix}_target`) : createMariaDbDatabase(`${prefix}_target`);
}
