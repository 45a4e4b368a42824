/**
 * The sandbox from start to verdict: databases and example data, the simulated forward replicator,
 * the real wizard (every step), a seeded write workload on CockroachDB with live progress from the
 * engine's metrics, a wait until the engine has applied everything up to a timestamp taken after the
 * workload, and verify over every table. Everything started registers its undo with the caller's
 * Cleanup: on failure or interruption it is undone here, on success the caller decides when (right
 * away, or after --keep's wait).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redactConn } from '../lib/conn.js';
import { AppError, ExitCode } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { verifyTables, type VerifyReport } from '../verify/index.js';
import type { Cleanup } from './cleanup.js';
import { createExampleData, startDatabases } from './databases.js';
import { endEngine, killEngineNow } from './engine-process.js';
import { startForwardSimulator } from './forward/index.js';
import { Random } from './random.js';
import { keptEnvironment } from './kept.js';
import { renderHeader, type Printer } from './render.js';
import { writeAndCatchUp } from './replicate.js';
import type { SandboxResult } from './result.js';
import { EXAMPLE_TABLES } from './schema.js';
import type { TargetKind } from './targets.js';
import { runWizard, wizardConfig } from './wizard.js';

export interface SandboxOptions {
  readonly target: TargetKind;
  /** Admin URL of the MariaDB server for --target mariadb. */
  readonly mariadbUrl: string;
  readonly seed: number;
  /** Employees in the seed data (payments x2, orders x3). */
  readonly employees: number;
  readonly transactions: number;
  /** Workload transactions per second. */
  readonly rate: number;
  readonly keep: boolean;
  /** Where the state folder goes (a fresh temporary folder inside it). */
  readonly tmpRoot?: string;
  readonly log: Logger;
  /** Collects how to undo everything started; the caller holds it (for killNow on a second Ctrl-C). */
  readonly cleanup: Cleanup;
  readonly signal: AbortSignal;
  /** Aborts the run as a signal would (a prompt closed with Ctrl-C). */
  readonly abort: () => void;
  /** Human output (stdout, or stderr under --json). */
  readonly out: Printer;
  readonly wizardOutput: { readonly live: boolean; readonly json: boolean; readonly interactive: boolean };
}

export interface SandboxRun {
  readonly result: SandboxResult;
  /** verify's full report (differing keys), for the human rendering of a mismatch. */
  readonly report: VerifyReport;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', resolve);
  });
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const interrupted = () =>
  new AppError('INTERRUPTED', 'The sandbox was interrupted; everything it started has been stopped and removed.', { exitCode: ExitCode.INTERRUPTED });

/**
 * Starts everything and runs to the verdict, leaving it all running for the caller to inspect and then
 * undo with o.cleanup.run(). On any failure or interruption it cleans up itself and throws.
 */
export async function runSandbox(o: SandboxOptions): Promise<SandboxRun> {
  const t0 = Date.now();
  const { cleanup } = o;
  const stateDir = mkdtempSync(join(o.tmpRoot ?? tmpdir(), 'molt-failback-sandbox-'));
  cleanup.add('the state folder', async () => rmSync(stateDir, { recursive: true, force: true }), { now: () => rmSync(stateDir, { recursive: true, force: true }) });
  try {
    return await drive(o, cleanup, stateDir, t0);
  } catch (err) {
    // Stop the children first, whatever the error, then report it.
    await cleanup.run();
    if (o.signal.aborted) throw interrupted();
    throw err;
  }
}

async function drive(o: SandboxOptions, cleanup: Cleanup, stateDir: string, t0: number): Promise<{ result: SandboxResult; report: VerifyReport }> {
  const rng = new Random(o.seed);
  const stateFile = join(stateDir, 'state.json');
  const aborted = () => o.signal.throwIfAborted();

  o.out.line(`Starting the sandbox: the whole MOLT failback on throw-away local databases (${o.target === 'mariadb' ? 'MariaDB' : 'PostgreSQL'} target).`);
  o.out.status('  starting embedded databases (PGlite cold start takes a few seconds)...');
  const [db, bindPort, metricsPort] = await Promise.all([startDatabases(cleanup, { target: o.target, mariadbUrl: o.mariadbUrl, log: o.log }), freePort(), freePort()]);
  aborted();
  const tDatabases = Date.now();
  o.out.status('  creating the example schema and seed data on both sides...');
  const seeded = await createExampleData(db, rng, o.employees);
  aborted();
  const tSchema = Date.now();

  // The engine is started by the wizard, detached: undo it through its pid file, whatever the wizard got to.
  cleanup.add('the replicator engine', async () => void (await endEngine(stateDir)), { timeoutMs: 20_000, now: () => killEngineNow(stateDir) });
  const forward = await startForwardSimulator({ activeMs: 3500, schema: 'defaultdb.public', tables: EXAMPLE_TABLES });
  cleanup.add('the simulated forward replicator', () => forward.stop(), { now: () => forward.killNow() });

  for (const l of renderHeader({
    seed: o.seed,
    crdbUrl: redactConn(db.crdb.url),
    targetDescription: db.target.description,
    targetUrl: redactConn(db.target.url),
    forwardPid: forward.pid,
    forwardMetricsUrl: forward.metricsUrl,
    seedRows: seeded.rows,
    stateDir,
    startMs: tSchema - t0,
  }))
    o.out.line(l);
  o.out.line();
  o.out.line('The failback wizard (what `molt-failback run --yes` does), every step:');

  const loaded = wizardConfig({
    stateFile,
    crdbUrl: db.crdb.url,
    targetUrl: db.target.url,
    tables: EXAMPLE_TABLES,
    bindPort,
    metricsPort,
    forward: { metricsUrl: forward.metricsUrl, pid: forward.pid },
  });
  const wizard = await runWizard(loaded, { ...o.wizardOutput, log: o.log, signal: o.signal, abort: o.abort });
  aborted();
  if (wizard.result.error) throw wizard.result.error;
  const tWizard = Date.now();
  const metricsBase = `http://127.0.0.1:${metricsPort}`;

  o.out.line();
  o.out.line(`Write workload on CockroachDB: ${o.transactions} transactions at ${o.rate}/s (inserts, updates and deletes across employees, payments and orders), replicated by the engine as it runs:`);
  const live = await writeAndCatchUp({ crdbUrl: db.crdb.url, metricsBase, model: seeded.model, rng, transactions: o.transactions, rate: o.rate, out: o.out, signal: o.signal });
  const { stats, flow } = live;
  const tCaughtUp = Date.now();

  o.out.status('  comparing every table (molt-failback verify: row counts and content checksums)...');
  const report: VerifyReport = await verifyTables({
    source: { conn: db.crdb.url },
    target: { conn: db.target.url },
    tables: EXAMPLE_TABLES,
    // The engine has applied everything: any difference now is real, so report it at once.
    settleTimeoutMs: 0,
    signal: o.signal,
    log: o.log,
  });
  const tVerify = Date.now();
  const version = await db.target.version().catch(() => 'unknown');

  const result: SandboxResult = {
    verdict: report.verdict === 'equal' ? 'match' : 'mismatch',
    seed: o.seed,
    target: { kind: db.target.kind, description: db.target.description, version },
    simulated: ['CockroachDB: the emulator in src/sandbox/crdb over embedded PGlite', 'the forward replicator: a stand-in process whose metrics settle'],
    tables: report.tables.map((t) => ({ table: t.table, verdict: t.verdict, crdbRows: t.rows.source, targetRows: t.rows.target, differences: t.differences.total })),
    seedRows: seeded.rows,
    workload: {
      transactions: stats.transactions,
      statements: stats.statements,
      inserts: stats.inserts,
      updates: stats.updates,
      deletes: stats.deletes,
      byKind: stats.byKind,
      durationMs: stats.durationMs,
      transactionsPerSecond: stats.durationMs > 0 ? Math.round((stats.transactions / stats.durationMs) * 10_000) / 10 : 0,
    },
    replication: {
      rowsApplied: flow.rowsApplied,
      meanRowsPerSecond: Math.round(flow.meanRowsPerSecond * 10) / 10,
      peakRowsPerSecond: Math.round(flow.peakRowsPerSecond * 10) / 10,
      maxLagSeconds: Math.round(flow.maxLagSeconds * 100) / 100,
      webhookRequests: flow.webhookRequests,
      webhookErrors: flow.webhookErrors,
      caughtUpTo: live.caughtUpTo,
      catchUpMs: live.catchUpMs,
    },
    wizard: { steps: wizard.result.results.map((s) => ({ id: s.id, outcome: s.outcome, durationMs: s.durationMs })) },
    timings: {
      databasesMs: tDatabases - t0,
      schemaMs: tSchema - tDatabases,
      wizardMs: tWizard - tSchema,
      workloadMs: live.workloadMs,
      catchUpMs: tCaughtUp - tWizard - live.workloadMs,
      verifyMs: tVerify - tCaughtUp,
      totalMs: tVerify - t0,
    },
    ...(o.keep ? { kept: keptEnvironment({ crdbUrl: db.crdb.url, crdbBackingUrl: db.crdb.backendUrl, targetUrl: db.target.url, stateDir, stateFile, metricsBase }) } : {}),
  };
  return { result, report };
}
