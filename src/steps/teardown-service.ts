/**
 * `teardown`: ends a failback cleanly and idempotently, touching only what this wizard created and
 * recorded. It cancels the recorded changefeed only while its sink still points at our engine; it stops
 * the recorded engine only when the engine's /_/diag reports that pid and the recorded fingerprint (a
 * reused pid is never signalled); and only when asked, and once both are gone, it drops the engine's own
 * staging tables. Anything else it finds pointing at our engine is named and left alone. It holds the
 * state lock, and records what it did in the state file.
 */
import { redactConn, redactText } from '../lib/conn.js';
import { AppError, ExitCode, toAppError, type ExitCodeValue } from '../lib/errors.js';
import { stagingConnOf } from './config.js';
import { cancelChangefeed, engineDiag, isActiveStatus, listChangefeedJobs, readChangefeedJob, stopEngine } from './observe.js';
import { parseSinkUri, sameEndpoint, sameSink } from './lib/sink-uri.js';
import type { TargetSchema } from '../replicator/types.js';
import type { Session } from './session.js';
import type { FailbackState, TeardownPart } from './state/schema.js';
import { recordedChangefeed, recordedEngine } from './status-report.js';

export interface TeardownOptions {
  purgeStaging: boolean;
  /** How long to wait for the engine to exit after SIGTERM. */
  graceMs: number;
  /** Asks before dropping staging data (the command decides: --yes, a prompt, or refusal). */
  confirm: (message: string) => Promise<boolean>;
  progress: (line: string) => void;
}

export interface TeardownResult {
  stateFile: string;
  /** False when there was no state file: nothing was recorded, so nothing was touched. */
  hadState: boolean;
  changefeed: TeardownPart;
  engine: TeardownPart;
  staging: TeardownPart;
  /** Things pointing at our engine that we did not create, left alone. */
  leftAlone: string[];
  exitCode: ExitCodeValue;
  /** The first failure (serialised through AppError.toJSON in --json output). */
  error?: AppError;
}

const part = (outcome: TeardownPart['outcome'], detail: string, handle?: string): TeardownPart => ({ outcome, detail, ...(handle ? { handle } : {}) });

interface Failure {
  exitCode: ExitCodeValue;
  error: AppError;
}

async function endChangefeed(session: Session, state: FailbackState, leftAlone: string[], failures: Failure[]): Promise<TeardownPart> {
  const recorded = recordedChangefeed(state);
  if (!recorded?.jobId) return part('skipped', 'no changefeed was recorded in the state file');
  const { jobId } = recorded;
  // Where our changefeed sends its data.
  const sink = parseSinkUri(recorded.sink);
  try {
    const crdb = await session.services.crdb();
    // Other live changefeeds aimed at our engine's webhook are not ours: name them, never cancel them.
    if (sink) {
      for (const job of await listChangefeedJobs(crdb)) {
        if (job.jobId === jobId || !isActiveStatus(job.status)) continue;
        const loc = parseSinkUri(job.sinkUri);
        if (loc && sameEndpoint(loc, sink)) {
          leftAlone.push(`changefeed job ${job.jobId} (${job.status}) also points at our engine's webhook (${redactText(job.sinkUri.split('?')[0] ?? '')}); this wizard did not create it, so it was left alone: cancel it with CANCEL JOB ${job.jobId} if it should stop.`);
        }
      }
    }
    const job = await readChangefeedJob(crdb, jobId);
    if (!job) return part('gone', `changefeed job ${jobId} no longer exists`, jobId);
    const loc = parseSinkUri(job.sinkUri);
    if (sink && loc && !sameSink(loc, sink)) {
      failures.push({
        exitCode: ExitCode.FAILED,
        error: new AppError('NOT_OURS', `changefeed job ${jobId} sinks to ${job.sinkUri.split('?')[0]}, not to our engine; it was left alone.`, {
          actions: ['Check the job with SHOW CHANGEFEED JOB and cancel it yourself if it belongs to this failback.'],
        }),
      });
      return part('refused', `job ${jobId} now sinks to ${redactText(job.sinkUri.split('?')[0] ?? '')}, not to our engine: left alone`, jobId);
    }
    const outcome = await cancelChangefeed(crdb, jobId);
    switch (outcome) {
      case 'canceled':
        return part('done', `canceled changefeed job ${jobId}`, jobId);
      case 'already-canceled':
        return part('gone', `changefeed job ${jobId} was already canceled`, jobId);
      case 'not-found':
        return part('gone', `changefeed job ${jobId} no longer exists`, jobId);
      default:
        return part('gone', `changefeed job ${jobId} had already ended (${outcome.replace(/^ended-/, '')})`, jobId);
    }
  } catch (err) {
    const e = toAppError(err);
    failures.push({ exitCode: e.exitCode, error: e });
    return part('failed', `could not cancel changefeed job ${jobId}: ${redactText(e.message)}`, jobId);
  }
}

async function endEngine(session: Session, state: FailbackState, options: TeardownOptions, failures: Failure[]): Promise<TeardownPart> {
  const eng = recordedEngine(state);
  if (!eng) return part('skipped', 'no engine was recorded in the state file');
  const { processes, http } = session.services;
  const pid = eng.pid;
  const handle = String(pid);
  if (!processes.isAlive(pid)) return part('gone', `engine pid ${pid} is not running`, handle);
  const base = new URL(eng.metricsUrl).origin;
  const diag = await engineDiag(base, http);
  const why = !diag
    ? `its metrics endpoint ${base} does not answer /_/diag`
    : diag.pid !== pid
      ? `the engine at ${base} reports pid ${diag.pid ?? 'none'}`
      : diag.fingerprint !== eng.fingerprint
        ? `the engine at ${base} was started with other settings (fingerprint differs)`
        : undefined;
  if (why) {
    failures.push({
      exitCode: ExitCode.FAILED,
      error: new AppError('NOT_OURS', `process ${pid} is alive but cannot be proven to be our engine (${why}); it was left alone.`, {
        actions: [`If it is the engine (for example with a hung metrics endpoint), stop it yourself: kill -TERM ${pid}.`],
      }),
    });
    return part('refused', `process ${pid} is alive but ${why}: not proven to be our engine, left alone (the pid may have been reused)`, handle);
  }
  options.progress(`Stopping the engine (pid ${pid}) with SIGTERM; waiting up to ${Math.round(options.graceMs / 1000)}s...`);
  const stop = await stopEngine(session.services, pid, options.graceMs, session.base.signal);
  if (stop.outcome === 'gone') return part('gone', `engine pid ${pid} exited before it was signalled`, handle);
  if (stop.outcome === 'still-running') {
    failures.push({
      exitCode: ExitCode.TIMEOUT,
      error: new AppError('ENGINE_STILL_RUNNING', `the engine (pid ${pid}) is still running ${Math.round(options.graceMs / 1000)}s after SIGTERM.`, {
        exitCode: ExitCode.TIMEOUT,
        actions: ['Give it longer: molt-failback teardown --grace 2m', `Or force it: kill -KILL ${pid} (staged data stays and is applied by the next engine).`, `Its log: ${eng.logFile}`],
      }),
    });
    return part('failed', `sent SIGTERM to engine pid ${pid}; still running after ${Math.round(options.graceMs / 1000)}s`, handle);
  }
  return part('done', `stopped engine pid ${pid} (SIGTERM, exited after ${(stop.waitedMs / 1000).toFixed(1)}s)`, handle);
}

async function purgeStaging(session: Session, state: FailbackState, changefeed: TeardownPart, engine: TeardownPart, options: TeardownOptions, failures: Failure[]): Promise<TeardownPart> {
  if (!options.purgeStaging) return part('skipped', 'staging data kept (--purge-staging removes it)');
  const blocking = [changefeed.outcome === 'refused' || changefeed.outcome === 'failed' ? 'the changefeed' : '', engine.outcome === 'refused' || engine.outcome === 'failed' ? 'the engine' : ''].filter(Boolean);
  if (blocking.length > 0) return part('skipped', `not purged: ${blocking.join(' and ')} may still be running (see above)`);
  const conn = stagingConnOf(session.config);
  const schema = session.config.staging.schema;
  const where = `${schema} on ${redactConn(conn)}`;
  // Loaded only here: the engine's modules (dialects, staging) are not needed for the rest of teardown.
  const { schemaLabel, targetSchemaFor } = await import('./lib/target.js');
  const { purgeTargetSchema } = await import('../replicator/index.js');
  let target: TargetSchema;
  try {
    // The schema this failback wrote to: as configured now, else as the run that created it recorded it.
    const targetSchema = session.config.target.schema ?? state.subject.targetSchema;
    target = targetSchemaFor({ target: { ...session.config.target, ...(targetSchema ? { schema: targetSchema } : {}) } });
  } catch (err) {
    return part('skipped', `not purged: the target schema this failback wrote to is unknown (${redactText(toAppError(err).message)})`);
  }
  const label = schemaLabel(target);
  if (!(await options.confirm(`Remove this failback's staging data for ${label} in ${where} (staged mutations, resolved timestamps, checkpoint)? Anything not yet applied is lost.`))) {
    return part('skipped', 'staging data kept (declined)');
  }
  try {
    const r = await purgeTargetSchema(conn, schema, target);
    if (r.mode === 'absent') return part('gone', `no engine staging tables in ${where}`);
    if (r.mode === 'cleaned') {
      return part('done', `deleted ${label}'s staged data in ${where} (${r.mutations} mutations, ${r.checkpoints} resolved and checkpoint rows); the tables were kept because they also hold ${r.others.join(', ')}`);
    }
    return part('done', `dropped ${r.droppedTables.join(', ')} in ${where}${r.droppedSchema ? ' and the then-empty schema' : '; the schema holds other tables and was kept'}`);
  } catch (err) {
    const e = toAppError(err);
    failures.push({ exitCode: e.exitCode, error: e });
    return part('failed', `could not remove the staging data in ${where}: ${redactText(e.message)}`);
  }
}

export async function runTeardown(session: Session, options: TeardownOptions): Promise<TeardownResult> {
  const release = session.store.lock();
  try {
    const state = session.store.read();
    if (!state) {
      const none = part('skipped', `nothing recorded (no state at ${session.stateFile})`);
      return { stateFile: session.stateFile, hadState: false, changefeed: none, engine: none, staging: none, leftAlone: [], exitCode: ExitCode.OK };
    }
    const failures: Failure[] = [];
    const leftAlone: string[] = [];
    // Order matters: stop the feed first (so it does not retry into a dead webhook), then the engine
    // (so nothing writes staging), and only then remove staging.
    const changefeed = await endChangefeed(session, state, leftAlone, failures);
    const engine = await endEngine(session, state, options, failures);
    const staging = await purgeStaging(session, state, changefeed, engine, options, failures);
    state.teardown = { at: new Date().toISOString(), changefeed, engine, staging };
    state.updatedAt = state.teardown.at;
    session.store.write(state);
    const first = failures[0];
    return {
      stateFile: session.stateFile,
      hadState: true,
      changefeed,
      engine,
      staging,
      leftAlone,
      exitCode: first ? first.exitCode : ExitCode.OK,
      ...(first ? { error: first.error } : {}),
    };
  } finally {
    release();
  }
}

export function renderTeardown(r: TeardownResult): string {
  const lines = [`Teardown (state: ${r.stateFile}):`, `  changefeed: ${r.changefeed.outcome}: ${r.changefeed.detail}`, `  engine:     ${r.engine.outcome}: ${r.engine.detail}`, `  staging:    ${r.staging.outcome}: ${r.staging.detail}`];
  if (r.leftAlone.length > 0) {
    lines.push('Left alone (not created by this wizard):');
    for (const l of r.leftAlone) lines.push(`  - ${l}`);
  }
  if (r.exitCode === ExitCode.OK && r.hadState) lines.push('The failback is torn down; running teardown again is harmless.');
  return lines.join('\n');
}
