/**
 * start-replicator: starts the embedded engine (`molt-failback replicator start`, MOLT Replicator's
 * failback mode) as a detached background process with its log, pid and bearer-token files in the state
 * folder, TLS from prepare-tls, and connection strings handed over in environment variables (never in
 * argv, where `ps` would show them). A fingerprint of the settings (--fingerprint, echoed by /_/diag)
 * lets a later run adopt an engine started with the same settings instead of starting a second one; an
 * engine running with other settings is an error that says how to stop it. Verify proves /_/healthz and
 * /_/varz answer on the metrics address.
 */
import { redactText } from '../lib/conn.js';
import { AppError, ExitCode } from '../lib/errors.js';
import { isoNow, poll, sinkLocation } from './lib/common.js';
import { engineDiag, engineFiles, engineHealthy, engineLaunch, metricsBase, readTokenFile, type EngineLaunch } from './lib/engine.js';
import { mintToken, writeTokenFile } from './lib/engine-api.js';
import { readPidFile, tail } from './lib/files.js';
import { scrape } from './lib/metrics.js';
import { asOutputs, EngineOutputs, outputsOf, PreflightOutputs, requireOutputs, TlsOutputs } from './lib/outputs.js';
import { commandAvailable } from './lib/self.js';
import { sinkBase } from './lib/sink-uri.js';
import type { CheckResult, PlannedAction, Step, StepContext, VerifyResult } from './step.js';

/** How long a fresh engine may take to answer /_/healthz (it connects to staging and target first). */
export const ENGINE_START_TIMEOUT_MS = 60_000;

/** The launch for the current config; undefined while prerequisites (TLS, token) are missing. */
function expectedLaunch(ctx: StepContext, token: string): EngineLaunch {
  const tls = requireOutputs(ctx, 'prepare-tls', TlsOutputs, 'The webhook certificate');
  const pre = outputsOf(ctx, 'preflight', PreflightOutputs);
  return engineLaunch(ctx.config, {
    tls: {
      serverCert: tls.serverCert,
      serverKey: tls.serverKey,
      // Our generated client certificate is signed by our CA, so the engine can insist on it; with a
      // provided certificate set we cannot know what CockroachDB will present, so TLS stays one-way.
      clientCa: tls.mode === 'generated' && tls.clientCert && tls.caCert ? tls.caCert : undefined,
    },
    tokenFile: engineFiles(ctx.stateDir).tokenFile,
    token,
    sourceKeyColumns: pre?.sourceKeyColumns,
  });
}

interface Observed {
  pidFilePid?: number;
  pidAlive: boolean;
  diagPid?: number;
  diagFingerprint?: string;
  answering: boolean;
}

async function observe(ctx: StepContext): Promise<Observed> {
  const files = engineFiles(ctx.stateDir);
  const pidFilePid = readPidFile(files.pidFile);
  const pidAlive = pidFilePid !== undefined && ctx.services.processes.isAlive(pidFilePid);
  const diag = await engineDiag(ctx.services.http, metricsBase(ctx.config));
  return { pidFilePid, pidAlive, diagPid: diag?.pid, diagFingerprint: diag?.fingerprint, answering: diag !== undefined };
}

function mismatchError(ctx: StepContext, o: Observed): AppError {
  const pid = o.diagPid ?? o.pidFilePid;
  return new AppError('ENGINE_MISMATCH', `An engine${pid ? ` (pid ${pid})` : ''} is already running on ${metricsBase(ctx.config)} with different settings.`, {
    exitCode: ExitCode.FAILED,
    actions: [
      'If it belongs to an earlier failback that is over, end it: molt-failback teardown.',
      pid ? `Or stop it yourself: kill -TERM ${pid}; then run again to start one with the current settings.` : 'Or stop the process listening on that address, then run again.',
    ],
  });
}

function outputsFor(ctx: StepContext, pid: number, fingerprint: string, adopted: boolean): EngineOutputs {
  const files = engineFiles(ctx.stateDir);
  const base = metricsBase(ctx.config);
  return {
    pid,
    ...files,
    metricsUrl: `${base}/_/varz`,
    healthUrl: `${base}/_/healthz`,
    webhookUrl: sinkBase(sinkLocation(ctx.config)).replace(/^webhook-/, ''),
    fingerprint,
    startedAt: isoNow(ctx),
    adopted,
  };
}

async function proveRunning(ctx: StepContext): Promise<string | undefined> {
  const base = metricsBase(ctx.config);
  if (!(await engineHealthy(ctx.services.http, base))) return `${base}/_/healthz does not answer 200`;
  try {
    await scrape(ctx.services.http, `${base}/_/varz`);
  } catch (err) {
    return `${base}/_/varz: ${(err as Error).message}`;
  }
  return undefined;
}

export const startReplicator: Step = {
  id: 'start-replicator',
  title: 'Start the failback replicator',
  description:
    'Starts the embedded replicator engine (molt-failback replicator start) in the background with its log, pid and token files in the state folder, and proves /_/healthz and /_/varz answer; adopts an engine already running with the same settings.',

  async check(ctx): Promise<CheckResult> {
    const token = readTokenFile(engineFiles(ctx.stateDir).tokenFile);
    const o = await observe(ctx);
    if (!token) {
      if (o.answering) return { state: 'blocked', detail: `an engine answers on ${metricsBase(ctx.config)} but this state folder has no token for it`, actions: mismatchError(ctx, o).actions };
      return { state: 'pending', detail: 'no engine started yet' };
    }
    const launch = expectedLaunch(ctx, token);
    if (o.answering && o.diagFingerprint !== launch.fingerprint) {
      const e = mismatchError(ctx, o);
      return { state: 'blocked', detail: e.message, actions: e.actions };
    }
    if (!o.answering) return { state: 'pending', detail: o.pidAlive ? `pid ${o.pidFilePid} is alive but its metrics do not answer yet` : 'the engine is not running' };
    const rec = outputsOf(ctx, 'start-replicator', EngineOutputs);
    if (rec && rec.fingerprint === launch.fingerprint && (o.diagPid === undefined || rec.pid === o.diagPid)) {
      return { state: 'satisfied', detail: `engine pid ${rec.pid} is running with the current settings` };
    }
    return { state: 'pending', detail: `an engine with the current settings is running (pid ${o.diagPid ?? o.pidFilePid}); it will be adopted` };
  },

  async apply(ctx): Promise<void> {
    const files = engineFiles(ctx.stateDir);
    let token = readTokenFile(files.tokenFile);
    if (!token) {
      // Minted once and kept (0600): the changefeed's auth header and the engine must agree across runs.
      const minted: string = mintToken();
      writeTokenFile(files.tokenFile, minted);
      token = minted;
    }
    const launch = expectedLaunch(ctx, token);
    let o = await observe(ctx);
    if (!o.answering && o.pidAlive) {
      // A pid from an earlier run is alive but silent: it may still be starting. Give it a moment.
      ctx.ui.progress(`pid ${o.pidFilePid} is alive; waiting for its metrics endpoint`);
      await poll(ctx, { intervalMs: 500, timeoutMs: 15_000 }, async () => ((o = await observe(ctx)).answering ? true : undefined));
    }
    if (o.answering) {
      if (o.diagFingerprint !== launch.fingerprint) throw mismatchError(ctx, o);
      const pid = o.diagPid ?? (o.pidFilePid as number);
      await ctx.record(asOutputs(outputsFor(ctx, pid, launch.fingerprint, true)));
      ctx.ui.info(`Adopted the engine already running with these settings (pid ${pid}).`);
      return;
    }
    if (o.pidAlive) {
      throw new AppError('ENGINE_SILENT', `pid ${o.pidFilePid} from ${files.pidFile} is running but ${metricsBase(ctx.config)}/_/diag does not answer.`, {
        actions: [`Look at ${files.logFile}.`, `If that process is not the engine (pids are reused) or is stuck, stop it (kill -TERM ${o.pidFilePid}) and delete ${files.pidFile}.`],
      });
    }
    if (!commandAvailable(['replicator', 'start'])) {
      throw new AppError('ENGINE_NOT_AVAILABLE', 'The embedded replicator engine (molt-failback replicator start) is not available in this installation.', {
        exitCode: ExitCode.FAILED,
        actions: [
          'Build the CLI (npm run build; npm install runs it too) or install a molt-failback release that includes the engine.',
          'Or run MOLT Replicator yourself (replicator start) and continue with --from fetch-cursor.',
        ],
      });
    }
    const self = ctx.services.processes.selfCommand();
    ctx.ui.progress(`starting ${launch.display}`);
    const pid = await ctx.services.processes.spawnDetached(self.command, [...self.args, ...launch.args], { logFile: files.logFile, pidFile: files.pidFile, env: launch.env, cwd: ctx.stateDir });
    await ctx.record(asOutputs(outputsFor(ctx, pid, launch.fingerprint, false)));
    const base = metricsBase(ctx.config);
    const up = await poll(ctx, { intervalMs: 300, timeoutMs: ENGINE_START_TIMEOUT_MS }, async (elapsed) => {
      if (!ctx.services.processes.isAlive(pid)) {
        throw new AppError('ENGINE_EXITED', `The engine (pid ${pid}) exited during start-up. Last lines of ${files.logFile}:\n${redactText(tail(files.logFile, 15))}`, {
          actions: [`Read ${files.logFile} for the cause (unreachable target or staging, a port in use, bad certificates).`],
        });
      }
      ctx.ui.progress(`waiting for ${base}/_/healthz (${Math.round(elapsed / 1000)}s)`);
      return (await engineHealthy(ctx.services.http, base)) ? true : undefined;
    });
    if (!up) {
      throw new AppError('ENGINE_START_TIMEOUT', `The engine (pid ${pid}) did not answer ${base}/_/healthz within ${ENGINE_START_TIMEOUT_MS / 1000}s.`, {
        exitCode: ExitCode.TIMEOUT,
        actions: [`Read ${files.logFile}; /_/healthz fails while the staging or target database is unreachable.`, `Stop it with kill -TERM ${pid} if it is stuck.`],
      });
    }
    ctx.ui.info(`The engine is running (pid ${pid}); webhook ${outputsFor(ctx, pid, launch.fingerprint, false).webhookUrl}, metrics ${base}/_/varz, log ${files.logFile}.`);
  },

  async verify(ctx): Promise<VerifyResult> {
    const rec = outputsOf(ctx, 'start-replicator', EngineOutputs);
    if (!rec) return { ok: false, detail: 'no engine recorded' };
    const problem = await proveRunning(ctx);
    if (problem) return { ok: false, detail: problem, actions: [`Read ${rec.logFile}.`] };
    const diag = await engineDiag(ctx.services.http, metricsBase(ctx.config));
    if (diag?.fingerprint !== rec.fingerprint) return { ok: false, detail: `the engine on ${metricsBase(ctx.config)} is not the one recorded (fingerprint differs)` };
    return { ok: true, detail: `engine pid ${rec.pid}: /_/healthz and /_/varz answer on ${metricsBase(ctx.config)}` };
  },

  async plan(ctx): Promise<PlannedAction[]> {
    const files = engineFiles(ctx.stateDir);
    const base = metricsBase(ctx.config);
    const token = readTokenFile(files.tokenFile) ?? '(minted on first start)';
    let display: string;
    try {
      display = expectedLaunch(ctx, token).display;
    } catch {
      display = 'replicator start ... (after prepare-tls has run)';
    }
    const self = ctx.services.processes.selfCommand();
    return [
      { kind: 'http', target: `${base}/_/diag`, text: `GET ${base}/_/diag (adopt an engine with the same fingerprint)` },
      { kind: 'file', target: files.tokenFile, text: `write a new bearer token (mode 0600)`, when: 'if the token file does not exist' },
      {
        kind: 'process',
        target: files.pidFile,
        text: `${[self.command, ...self.args].join(' ')} ${display}  (env MOLT_FAILBACK_REPLICATOR_TARGET_CONN=****, MOLT_FAILBACK_REPLICATOR_STAGING_CONN=****; log ${files.logFile})`,
        when: 'unless an engine with the same settings is running',
      },
      { kind: 'http', target: base, text: `GET ${base}/_/healthz and ${base}/_/varz until they answer` },
    ];
  },
};
