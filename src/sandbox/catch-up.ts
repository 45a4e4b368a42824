/**
 * "Has the target caught up?": CockroachDB's clock is read once the workload has stopped
 * (cluster_logical_timestamp(), after every committed change is stamped), then the engine's /_/diag
 * is polled until every target schema's applied checkpoint has reached that HLC. The engine applies a
 * window only up to a resolved timestamp and commits on the target before it moves the checkpoint, so
 * from then on the target holds every change the workload made.
 */
import pg from 'pg';
import { compareHlc, parseHlc, type Hlc } from '../lib/hlc.js';
import { AppError, ExitCode } from '../lib/errors.js';
import { clusterLogicalTimestamp } from '../steps/lib/crdb.js';
import { engineDiag } from '../steps/observe.js';
import { abortableSleep } from '../steps/services-impl.js';
import type { SqlSession } from '../steps/services.js';

/** SELECT cluster_logical_timestamp() on CockroachDB, as the exact decimal text. */
export async function clusterTimestamp(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  // pg's QueryResult has rowCount: number | null, so a Client is not a SqlSession as it stands.
  const session: SqlSession = {
    query: async <T>(sql: string, params?: readonly unknown[]) => {
      const r = await client.query(sql, params as unknown[] | undefined);
      return { rows: r.rows as T[], rowCount: r.rowCount ?? r.rows.length };
    },
  };
  try {
    return await clusterLogicalTimestamp(session);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Applied checkpoints by target schema, from the engine's /_/diag; undefined when it does not answer. */
export async function appliedCheckpoints(metricsBase: string): Promise<Map<string, Hlc | undefined> | undefined> {
  const diag = await engineDiag(metricsBase);
  const schemas = diag?.raw.schemas;
  if (!Array.isArray(schemas)) return undefined;
  const out = new Map<string, Hlc | undefined>();
  for (const s of schemas as Array<{ schema?: string; applied?: { hlc?: string } | null }>) {
    out.set(String(s.schema), s.applied?.hlc ? parseHlc(s.applied.hlc) : undefined);
  }
  return out;
}

export interface CatchUpOptions {
  readonly metricsBase: string;
  readonly target: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly onWait?: (behindSchemas: number) => void;
}

/** Resolves once every schema the engine serves has applied up to `target`; throws on timeout. */
export async function waitForApplied(o: CatchUpOptions): Promise<void> {
  const goal = parseHlc(o.target);
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    o.signal?.throwIfAborted();
    const applied = await appliedCheckpoints(o.metricsBase);
    if (applied && applied.size > 0) {
      const behind = [...applied.values()].filter((h) => h === undefined || compareHlc(h, goal) < 0).length;
      if (behind === 0) return;
      o.onWait?.(behind);
    }
    if (Date.now() >= deadline) {
      throw new AppError('SANDBOX_CATCH_UP_TIMEOUT', `The engine did not apply everything up to ${o.target} within ${Math.round(o.timeoutMs / 1000)}s.`, {
        exitCode: ExitCode.TIMEOUT,
        actions: ['Look at the engine log (replicator.log in the state folder; run with --keep to inspect it) and at molt-failback status --state <state file>.'],
      });
    }
    await abortableSleep(200, o.signal);
  }
}
