/**
 * Drives the write workload on (emulated) CockroachDB: a fixed number of transactions from
 * transactions.ts, one after another at a steady rate, each in BEGIN ... COMMIT on one connection.
 * A fixed count rather than a fixed duration keeps a seeded run's final data identical whatever the
 * machine's speed. Any failed transaction stops the workload with its error: the model would no
 * longer match the database.
 */
import pg from 'pg';
import { abortableSleep } from '../steps/services-impl.js';
import type { Model } from './model.js';
import type { Random } from './random.js';
import { nextTransaction, type TransactionKind } from './transactions.js';

export interface WorkloadOptions {
  /** Connection string of CockroachDB (the emulator). */
  readonly url: string;
  readonly model: Model;
  readonly rng: Random;
  readonly transactions: number;
  /** Transactions per second to aim for (0: as fast as possible). */
  readonly rate: number;
  readonly signal?: AbortSignal;
  /** After each committed transaction. */
  readonly onCommit?: (stats: WorkloadStats) => void;
}

export interface WorkloadStats {
  transactions: number;
  statements: number;
  inserts: number;
  updates: number;
  deletes: number;
  byKind: Partial<Record<TransactionKind, number>>;
  startedAt: number;
  durationMs: number;
}

export async function runWorkload(o: WorkloadOptions): Promise<WorkloadStats> {
  const client = new pg.Client({ connectionString: o.url, application_name: 'molt-failback sandbox workload' });
  client.on('error', () => undefined); // surfaced by the query that fails
  await client.connect();
  const started = Date.now();
  const stats: WorkloadStats = { transactions: 0, statements: 0, inserts: 0, updates: 0, deletes: 0, byKind: {}, startedAt: started, durationMs: 0 };
  try {
    for (let i = 0; i < o.transactions; i++) {
      o.signal?.throwIfAborted();
      if (o.rate > 0) {
        const due = started + (i * 1000) / o.rate;
        if (due > Date.now()) await abortableSleep(due - Date.now(), o.signal);
      }
      const tx = nextTransaction(o.rng, o.model);
      await client.query('BEGIN');
      try {
        for (const s of tx.statements) await client.query(s.sql, s.params as unknown[]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new Error(`workload transaction ${i + 1} (${tx.kind}) failed on CockroachDB: ${(err as Error).message}`, { cause: err });
      }
      stats.transactions++;
      stats.statements += tx.statements.length;
      stats.inserts += tx.inserts;
      stats.updates += tx.updates;
      stats.deletes += tx.deletes;
      stats.byKind[tx.kind] = (stats.byKind[tx.kind] ?? 0) + 1;
      stats.durationMs = Date.now() - started;
      o.onCommit?.(stats);
    }
  } finally {
    stats.durationMs = Date.now() - started;
    await client.end().catch(() => undefined);
  }
  return stats;
}
