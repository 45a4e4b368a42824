import { openSync } from 'node:fs';
import { Flags, type Interfaces } from '@oclif/core';
import { BaseCommand, type CommandOutcome } from '../../lib/base-command.js';
import { environment, loadConfig, parseDuration } from '../../lib/config.js';
import { AppError, ExitCode, isAppError, toAppError } from '../../lib/errors.js';
import { createLogger } from '../../lib/log.js';
import { ENGINE_SETTINGS, EngineConfigSchema, UNSUPPORTED_MOLT_FLAGS, startEngine, type EngineSettingDef } from '../../replicator/index.js';

type AnyFlag = Interfaces.Flag<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- a heterogeneous flag table

const GROUPS: Record<EngineSettingDef['group'], string> = {
  CONNECTION: 'CONNECTION AND STAGING',
  SERVER: 'WEBHOOK SERVER',
  APPLY: 'APPLY',
  PROCESS: 'PROCESS',
};

function describeSetting(d: EngineSettingDef): string {
  const parts = [d.description];
  if (d.default !== undefined && d.default !== false && d.kind !== 'boolean' && d.key !== 'verbose') parts.push(`(default: ${String(d.default)})`);
  if (d.kind === 'boolean' && d.default === true) parts.push('(default: on; --no-' + d.key + ' or --' + d.key + '=false turns it off)');
  if (d.ours) parts.push('[molt-failback addition]');
  parts.push(`[env: ${d.env}]`);
  return parts.join(' ');
}

function buildFlags(): Record<string, AnyFlag> {
  const flags: Record<string, AnyFlag> = {};
  for (const d of ENGINE_SETTINGS) {
    if (d.envOnly || !d.flag) continue;
    const common = { description: describeSetting(d), helpGroup: GROUPS[d.group] };
    if (d.key === 'verbose') flags[d.key] = Flags.boolean({ ...common, char: 'v' });
    else if (d.kind === 'boolean') flags[d.key] = Flags.boolean({ ...common, allowNo: d.default === true });
    else flags[d.key] = Flags.string({ ...common, ...(d.options ? { options: [...d.options] } : {}) });
  }
  for (const u of UNSUPPORTED_MOLT_FLAGS) {
    const common = { description: `Not supported by molt-failback: ${u.reason}.`, helpGroup: 'UNSUPPORTED MOLT REPLICATOR' };
    flags[u.name] = u.kind === 'boolean' ? Flags.boolean(common) : Flags.string(common);
  }
  return flags;
}

const BOOLEAN_FLAGS = new Map<string, { allowNo: boolean }>([
  ...ENGINE_SETTINGS.filter((d) => d.kind === 'boolean' && !d.envOnly).map((d) => [d.key, { allowNo: d.default === true }] as [string, { allowNo: boolean }]),
  ...UNSUPPORTED_MOLT_FLAGS.filter((u) => u.kind === 'boolean').map((u) => [u.name, { allowNo: false }] as [string, { allowNo: boolean }]),
]);

/**
 * MOLT Replicator's command lines use Go flag syntax that oclif does not: `--flag=false` for booleans
 * and a repeated -v (`-vv`). Rewrite those to oclif's forms; returns the trace request separately.
 */
export function normaliseArgv(argv: readonly string[]): { argv: string[]; trace: boolean } {
  const out: string[] = [];
  let trace = false;
  for (const a of argv) {
    if (/^-v{2,}$/.test(a)) {
      trace = true;
      out.push('-v');
      continue;
    }
    const m = /^--([A-Za-z]+)=(true|false|1|0)$/i.exec(a);
    const b = m ? BOOLEAN_FLAGS.get(m[1] as string) : undefined;
    if (m && b) {
      const on = /^(true|1)$/i.test(m[2] as string);
      if (on) out.push(`--${m[1]}`);
      else if (b.allowNo) out.push(`--no-${m[1]}`);
      continue;
    }
    out.push(a);
  }
  return { argv: out, trace };
}

export default class ReplicatorStart extends BaseCommand {
  static override summary = 'Run the replicator engine: CockroachDB changefeed webhook -> staging -> target (MOLT Replicator `replicator start`).';
  static override description = [
    'A drop-in for MOLT Replicator in failback mode: same camelCase flags, webhook paths and metric names. CockroachDB',
    "posts changefeed batches to https://HOST:PORT/db/schema (PostgreSQL), /db (MySQL) or /SCHEMA (Oracle); rows are",
    'staged durably before the 200, and applied to the target in whole source transactions once a resolved timestamp',
    'covers them, so the target only ever shows a state the source had.',
    '',
    'Every flag can also come from the environment as MOLT_FAILBACK_REPLICATOR_<UPPER_SNAKE_NAME>; pass connection',
    'strings that way (MOLT_FAILBACK_REPLICATOR_TARGET_CONN, MOLT_FAILBACK_REPLICATOR_STAGING_CONN) so they never show',
    'in `ps`. Authentication is on: give --authTokenFile (see `replicator make-token`) and create the changefeed with',
    "webhook_auth_header='Bearer <token>'.",
    '',
    'Signals: SIGTERM/SIGINT stop accepting, finish (or roll back) the window in flight, release leases and exit 0',
    'within --gracePeriod; SIGHUP re-reads --authTokenFile. Exit 1 with the reason on a startup failure (bad flags,',
    'staging unreachable); an unreachable target is not fatal (the engine stages and reports unhealthy).',
  ].join('\n');
  static override examples = [
    'MOLT_FAILBACK_REPLICATOR_TARGET_CONN=postgres://... MOLT_FAILBACK_REPLICATOR_STAGING_CONN=postgres://root@crdb:26257/defaultdb <%= config.bin %> replicator start --stagingSchema defaultdb._replicator --bindAddr :30004 --metricsAddr :30005 --tlsCertificate cert.pem --tlsPrivateKey key.pem --authTokenFile replicator.token -v',
  ];
  static override flags = buildFlags();

  protected async execute(): Promise<CommandOutcome> {
    try {
      return await this.run2();
    } catch (err) {
      // MOLT Replicator exits 1 on any startup failure; keep that contract for scripts.
      const e = isAppError(err) ? err : toAppError(err);
      if (e.exitCode === ExitCode.FAILED) throw e;
      throw new AppError(e.code, e.message, { exitCode: ExitCode.FAILED, actions: e.actions, cause: e, data: e.data });
    }
  }

  private async run2(): Promise<CommandOutcome> {
    const { argv, trace } = normaliseArgv(this.argv);
    const { flags } = await this.parse(ReplicatorStart, argv);
    const given = flags as Record<string, unknown>;
    const unsupported = UNSUPPORTED_MOLT_FLAGS.filter((u) => given[u.name] !== undefined && given[u.name] !== false);
    if (unsupported.length > 0) {
      throw new AppError('FLAG_UNSUPPORTED', unsupported.map((u) => `--${u.name} is not supported by molt-failback: ${u.reason}.`).join('\n'), {
        exitCode: ExitCode.FAILED,
        actions: ['Remove the flag; `molt-failback replicator start --help` lists what is supported.'],
      });
    }
    const values: Record<string, unknown> = {};
    for (const d of ENGINE_SETTINGS) {
      if (d.envOnly) continue;
      const v = given[d.key];
      if (v === undefined) continue;
      if (d.key === 'verbose') values[d.key] = v ? (trace ? 2 : 1) : undefined;
      else if (d.kind === 'number') values[d.key] = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      else values[d.key] = v;
    }
    const env = environment();
    const { config } = loadConfig(EngineConfigSchema, ENGINE_SETTINGS, { flags: values, env });

    const level = config.verbose >= 2 ? 'trace' : config.verbose >= 1 ? 'debug' : 'info';
    const destination = config.logDestination ? openSync(config.logDestination, 'a') : undefined;
    const log = createLogger({ level, name: 'replicator', ...(destination !== undefined ? { destination } : {}) });

    const engine = await startEngine(config, { log });
    const graceMs = parseDuration(config.gracePeriod);

    await new Promise<void>((resolve) => {
      let signals = 0;
      const onStop = (sig: NodeJS.Signals) => {
        signals++;
        if (signals > 1) {
          log.warn({ signal: sig }, 'second signal: exiting now (the window in flight is rolled back by the target; nothing was marked applied)');
          process.exit(ExitCode.INTERRUPTED);
        }
        log.info({ signal: sig }, 'Interrupted');
        // The engine bounds its own shutdown by --gracePeriod; this only guards against a stuck driver.
        setTimeout(() => {
          log.error('shutdown exceeded --gracePeriod; exiting (nothing in flight was marked applied)');
          process.exit(ExitCode.OK);
        }, graceMs + 1000).unref();
        engine.stop().then(resolve, (err: unknown) => {
          log.error({ err: (err as Error).message }, 'error while stopping');
          resolve();
        });
      };
      process.on('SIGTERM', onStop);
      process.on('SIGINT', onStop);
      process.on('SIGHUP', () => engine.reloadTokens());
      if (config.exitWithPid !== undefined) watchProcess(config.exitWithPid, () => onStop('SIGTERM'), log);
    });
    // Anything still holding the event loop (a driver socket blocked on a target lock) must not keep a
    // stopped engine alive; the unref'd timer only fires if something does.
    setTimeout(() => process.exit(ExitCode.OK), 200).unref();
    return { result: { stopped: true } };
  }
}

/** Calls `onExit` once process `pid` no longer exists (polled: Node has no portable pid watch). */
function watchProcess(pid: number, onExit: () => void, log: { info: (o: object, msg: string) => void }): void {
  const timer = setInterval(() => {
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') return; // EPERM: it exists, as another user
      clearInterval(timer);
      log.info({ pid }, '--exitWithPid: the watched process has exited; stopping');
      onExit();
    }
  }, 1000);
  timer.unref();
}
