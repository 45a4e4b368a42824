import { Flags } from '@oclif/core';
import { setTimeout as sleep } from 'node:timers/promises';
import { BaseCommand, type CommandOutcome } from '../lib/base-command.js';
import { getPath, type CollectedSettings } from '../lib/config.js';
import { parseConn } from '../lib/conn.js';
import { RUNBOOK } from '../steps/index.js';
import { nextActions } from '../steps/observe.js';
import { collectFailbackSettings, configFlag, durationFlag, settingFlags, stateFileOf } from '../steps/settings.js';
import { sessionLogger } from '../steps/terminal.js';
import { liveChangefeed, liveEngine, recordedEngine, recordedJobId, renderStatus, stepStatuses, type StatusReport } from '../steps/status-report.js';
import { FileStateStore } from '../steps/state/store.js';

export default class Status extends BaseCommand {
  static override summary = 'Show where the failback stands: each step, what it recorded, the live changefeed and engine, and what to do next.';
  static override description = [
    'Reads the state file without locking it (safe while a run is in progress) and never prompts; only the state file',
    'is needed. When a changefeed job is recorded and CockroachDB is configured (flags, env or config file) and',
    'reachable, it also shows the job\'s status and last resolved timestamp, and from the engine\'s metrics the lag,',
    'rows applied and their rate (two scrapes --interval apart) and webhook requests.',
  ].join('\n');
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json --state /var/lib/failback/state.json'];
  static override flags = {
    ...settingFlags(),
    config: configFlag,
    interval: Flags.string({ description: 'Time between the two metrics scrapes the rates come from (e.g. 1s, 500ms, 5s).', default: '1s', helpValue: 'DURATION' }),
  };

  protected async execute(): Promise<CommandOutcome> {
    const { flags } = await this.parse(Status);
    const intervalMs = durationFlag('interval', flags.interval, 'BAD_INTERVAL');
    const collected = collectFailbackSettings(flags);
    const stateFile = stateFileOf(collected);
    const state = new FileStateStore(stateFile).read();
    const report: StatusReport = {
      stateFile,
      exists: state !== undefined,
      ...(state ? { createdAt: state.createdAt, updatedAt: state.updatedAt, subject: state.subject, teardown: state.teardown } : {}),
      steps: stepStatuses(RUNBOOK, state),
      live: {},
      nextActions: state ? nextActions(state) : ['Start the failback: molt-failback run (or molt-failback run --dry-run to see every action first).'],
    };
    const jobId = recordedJobId(state);
    const engine = recordedEngine(state);
    if (jobId || engine) {
      const { PgSession, UndiciHttp } = await import('../steps/services-impl.js');
      const { conn, problem } = crdbConn(collected);
      const log = sessionLogger({ ...flags, 'log-level': flags['log-level'] ?? 'error' }, false);
      // A quick look: a CockroachDB that does not answer costs 5 s, not the steps' 15.
      const session = conn ? new PgSession(conn, 'CockroachDB', log, 'crdb.conn (--crdb-conn)', 5000) : undefined;
      const live = { crdb: session ? async () => session : undefined, crdbProblem: problem, http: new UndiciHttp(), intervalMs, sleep: (ms: number) => sleep(ms), now: () => Date.now() };
      try {
        const [changefeed, eng] = await Promise.all([jobId ? liveChangefeed(jobId, live) : undefined, engine ? liveEngine(engine.metricsUrl, live) : undefined]);
        if (changefeed) report.live.changefeed = changefeed;
        if (eng) report.live.engine = eng;
      } finally {
        await session?.close();
      }
    }
    return { result: report, human: renderStatus(report) };
  }
}

/** The CockroachDB connection if one is configured and parses; status works without it. */
function crdbConn(collected: CollectedSettings): { conn?: string; problem?: string } {
  const v = getPath(collected.values, 'crdb.conn');
  if (typeof v !== 'string') return {};
  try {
    parseConn(v, 'crdb.conn');
    return { conn: v };
  } catch (err) {
    // parseConn's message names the setting, never the value.
    return { problem: (err as Error).message };
  }
}
