import { Flags } from '@oclif/core';
import { z } from 'zod';
import { BaseCommand, type CommandOutcome } from '../../lib/base-command.js';
import { durationString, environment, loadConfig, parseDuration, type SettingDef } from '../../lib/config.js';
import { parseHostPort, redactConn } from '../../lib/conn.js';
import { AppError, ExitCode } from '../../lib/errors.js';
import { startCrdbEmulator, type FaultOptions } from '../../sandbox/crdb/index.js';

const ENV = 'MOLT_FAILBACK_CRDB_EMULATOR_';

const SETTINGS: readonly SettingDef[] = [
  { key: 'listen', flag: 'listen', env: `${ENV}LISTEN`, default: '127.0.0.1:26257', description: 'Address to serve the PostgreSQL wire protocol on (host:port; port 0 picks a free one).' },
  { key: 'backend', flag: 'backend', env: `${ENV}BACKEND`, secret: true, description: 'PostgreSQL URL where ordinary SQL really runs (default: embedded PGlite).' },
  { key: 'password', flag: 'password', env: `${ENV}PASSWORD`, secret: true, description: 'Password clients must give (any user name); without it clients are trusted.' },
  { key: 'dataDir', flag: 'data-dir', env: `${ENV}DATA_DIR`, description: 'Keep the embedded PGlite database in this directory (jobs and data survive restarts).' },
  { key: 'faults', flag: 'fault', env: `${ENV}FAULTS`, kind: 'list', default: [], description: 'Fault injection for webhook deliveries (duplicate=<0..1>, delay=<dur>, restart-every=<dur>, reorder).' },
  { key: 'capturePoll', flag: 'capture-poll', env: `${ENV}CAPTURE_POLL`, default: '50ms', description: 'How often committed changes are stamped with HLC timestamps.' },
];

const Schema = z.object({
  listen: z.string(),
  backend: z
    .string()
    .refine((s) => /^postgres(ql)?:\/\//.test(s), 'must be a postgres:// URL')
    .optional(),
  password: z.string().min(1).optional(),
  dataDir: z.string().min(1).optional(),
  faults: z.array(z.string()),
  capturePoll: durationString,
});

/** Parses `--fault` values: duplicate=0.1, delay=20ms, restart-every=5s, reorder. */
export function parseFaults(specs: readonly string[]): FaultOptions {
  const out: FaultOptions = {};
  const problems: string[] = [];
  for (const spec of specs) {
    const [name, value] = spec.split('=', 2) as [string, string | undefined];
    try {
      switch (name.trim()) {
        case 'duplicate': {
          const n = Number(value);
          if (value === undefined || !(n >= 0 && n <= 1)) throw new Error('needs a probability between 0 and 1, e.g. duplicate=0.1');
          out.duplicateRate = n;
          break;
        }
        case 'delay':
          if (value === undefined) throw new Error('needs a duration, e.g. delay=20ms');
          out.delayMs = parseDuration(value);
          break;
        case 'restart-every':
          if (value === undefined) throw new Error('needs a duration, e.g. restart-every=5s');
          out.restartEveryMs = parseDuration(value);
          break;
        case 'reorder':
          if (value !== undefined && !/^(true|false)$/.test(value)) throw new Error('takes no value (or true/false)');
          out.reorderAcrossKeys = value !== 'false';
          break;
        default:
          throw new Error('is not a known fault (duplicate, delay, restart-every, reorder)');
      }
    } catch (err) {
      problems.push(`--fault ${spec}: "${name}" ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) {
    throw new AppError('FAULT_INVALID', problems.join('\n'), { exitCode: ExitCode.USAGE, actions: ['Use --fault duplicate=0.1 --fault delay=20ms --fault restart-every=5s --fault reorder.'] });
  }
  return out;
}

export default class SandboxCrdb extends BaseCommand {
  static override summary = 'Serve the CockroachDB emulator (for tests and the sandbox; never a real failback source).';
  static override description = [
    'A PostgreSQL wire-protocol server that psql and node-postgres talk to unchanged. Ordinary SQL runs on a backing PostgreSQL (--backend) or on embedded PGlite; the CockroachDB statements of the failback runbook (SET/SHOW CLUSTER SETTING, cluster_logical_timestamp(), CREATE CHANGEFEED ... INTO webhook-https://..., SHOW CHANGEFEED JOB(S), PAUSE/RESUME/CANCEL JOB, CONFIGURE ZONE, SHOW ZONE CONFIGURATION) are answered like CockroachDB v25.4, and changefeeds send real HTTPS webhook requests.',
    `Prints the connection string as the first stdout line ({"url": ...} under --json), logs on stderr, and serves until SIGTERM or SIGINT, then stops cleanly and exits 0. Every flag can also come from ${ENV}<NAME> (LISTEN, BACKEND, PASSWORD, DATA_DIR, FAULTS, CAPTURE_POLL); prefer the environment for the backend URL and the password.`,
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> sandbox crdb --listen 127.0.0.1:26257',
    '<%= config.bin %> sandbox crdb --listen 127.0.0.1:0 --backend postgres://postgres@127.0.0.1:5432/crdb_sandbox --fault duplicate=0.1 --fault restart-every=5s',
    '<%= config.bin %> sandbox crdb --data-dir ./.crdb-emulator --password secret',
  ];
  static override flags = {
    listen: Flags.string({ description: 'host:port to listen on (default 127.0.0.1:26257; port 0 picks a free port).' }),
    backend: Flags.string({ description: 'PostgreSQL URL where passthrough SQL runs (default: embedded PGlite in memory).' }),
    password: Flags.string({ description: 'Password clients must send (any user name). Without it, clients are trusted.' }),
    'data-dir': Flags.string({ description: 'Directory for the embedded PGlite database (persistent jobs and data).' }),
    fault: Flags.string({ description: 'Inject a delivery fault; repeatable: duplicate=0.1, delay=20ms, restart-every=5s, reorder.', multiple: true }),
    'capture-poll': Flags.string({ description: 'How often committed changes are stamped (default 50ms).' }),
  };

  protected async execute(): Promise<CommandOutcome> {
    const { flags } = await this.parse(SandboxCrdb);
    const { config } = loadConfig(Schema, SETTINGS, {
      flags: { listen: flags.listen, backend: flags.backend, password: flags.password, 'data-dir': flags['data-dir'], fault: flags.fault, 'capture-poll': flags['capture-poll'] },
      env: environment(),
    });
    if (config.backend && config.dataDir) {
      throw new AppError('CONFIG_INVALID', '--data-dir applies to the embedded PGlite backend only and cannot be combined with --backend.', {
        exitCode: ExitCode.USAGE,
        actions: ['Drop --data-dir (a PostgreSQL backend keeps its own data), or drop --backend.'],
      });
    }
    const { host, port } = parseHostPort(config.listen, '--listen');
    const faults = parseFaults(config.faults);
    const log = this.logger;
    const emulator = await startCrdbEmulator({
      host: host || '127.0.0.1',
      port,
      backend: config.backend ? { url: config.backend } : { pglite: { dataDir: config.dataDir } },
      password: config.password,
      faults,
      capturePollMs: parseDuration(config.capturePoll),
      log,
    });
    const backend = config.backend ? redactConn(config.backend) : config.dataDir ? `embedded PGlite (${config.dataDir})` : 'embedded PGlite (in memory)';
    const result = { url: emulator.url, port: emulator.port, backend };
    process.stdout.write(this.jsonMode ? `${JSON.stringify(result)}\n` : `${emulator.url}\n`);

    await new Promise<void>((resolve) => {
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        signals++;
        if (signals > 1) {
          log.warn({ signal }, 'second signal: exiting now');
          process.exit(ExitCode.INTERRUPTED);
        }
        log.info({ signal }, 'crdb emulator: stopping');
        emulator.stop().then(resolve, (err: unknown) => {
          log.error({ err: (err as Error).message }, 'crdb emulator: error while stopping');
          resolve();
        });
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
    // A stray handle (an idle keep-alive socket) must not keep a stopped emulator alive.
    setTimeout(() => process.exit(ExitCode.OK), 2000).unref();
    return { result: { ...result, stopped: true }, printed: true };
  }
}
