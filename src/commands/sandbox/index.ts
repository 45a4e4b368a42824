import { Flags } from '@oclif/core';
import { z } from 'zod';
import { BaseCommand, jsonReplacer, type CommandOutcome } from '../../lib/base-command.js';
import { environment, loadConfig, type SettingDef } from '../../lib/config.js';
import { AppError, ExitCode } from '../../lib/errors.js';
import { createLogger } from '../../lib/log.js';
import { canRenderLive, isInteractive } from '../../steps/terminal.js';
import { renderReport } from '../../verify/index.js';
import { Cleanup, printer, randomSeed, renderKept, renderSummary, runSandbox } from '../../sandbox/index.js';

const ENV = 'MOLT_FAILBACK_SANDBOX_';

const SETTINGS: readonly SettingDef[] = [
  { key: 'target', flag: 'target', env: `${ENV}TARGET`, default: 'postgres', description: 'The failback target: postgres (embedded PGlite) or mariadb (a reachable MariaDB server).' },
  { key: 'mariadbUrl', flag: 'mariadb-url', env: `${ENV}MARIADB_URL`, secret: true, default: 'mysql://root@127.0.0.1:3306/', description: 'MariaDB server for --target mariadb; a sandbox database is created there and dropped at the end.' },
  { key: 'seed', flag: 'seed', env: `${ENV}SEED`, kind: 'number', description: 'Seed for the example data and the workload (same seed, same data).' },
  { key: 'employees', flag: 'employees', env: `${ENV}EMPLOYEES`, kind: 'number', default: 100, description: 'Employees in the seed data (payments twice, orders three times as many).' },
  { key: 'transactions', flag: 'transactions', env: `${ENV}TRANSACTIONS`, kind: 'number', default: 300, description: 'Transactions the workload runs on CockroachDB.' },
  { key: 'rate', flag: 'rate', env: `${ENV}RATE`, kind: 'number', default: 30, description: 'Workload transactions per second (0: as fast as possible).' },
  { key: 'keep', flag: 'keep', env: `${ENV}KEEP`, kind: 'boolean', default: false, description: 'Keep everything running after the verdict, until Ctrl-C.' },
];

const Schema = z.object({
  target: z.enum(['postgres', 'mariadb']),
  mariadbUrl: z.string().refine((s) => /^(mysql|mariadb):\/\//.test(s), 'must be a mysql:// URL'),
  seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
  employees: z.number().int().min(3).max(100_000),
  transactions: z.number().int().min(0).max(1_000_000),
  rate: z.number().min(0),
  keep: z.boolean(),
});

export default class Sandbox extends BaseCommand {
  static override summary = 'Run the whole failback on throw-away local databases, then verify every table (no setup needed).';
  static override description = [
    'Starts embedded databases (a SIMULATED CockroachDB: the emulator over PGlite; a PostgreSQL target on PGlite, or a database on a reachable MariaDB with --target mariadb), creates the runbook\'s example schema (employees, payments, orders) with the same rows on both sides, and a SIMULATED forward replicator.',
    'Then it runs every step of the real wizard, drives a write workload on CockroachDB while the engine replicates it (showing rows applied, lag and throughput), waits until the engine has applied everything, and compares every table (row counts and checksums).',
    'Exit code 0 only when every table matches (8 when they differ). Everything is removed at the end, also on Ctrl-C; --keep leaves it running, with connection strings to explore, until Ctrl-C.',
  ].join('\n\n');
  static override examples = ['<%= config.bin %> sandbox', '<%= config.bin %> sandbox --seed 42 --json', '<%= config.bin %> sandbox --keep', '<%= config.bin %> sandbox --target mariadb --mariadb-url mysql://root@127.0.0.1:3306/'];
  static override flags = {
    target: Flags.string({ description: 'Target database: postgres (embedded PGlite, default) or mariadb.', options: ['postgres', 'mariadb'] }),
    'mariadb-url': Flags.string({ description: `MariaDB server for --target mariadb (default mysql://root@127.0.0.1:3306/). Env: ${ENV}MARIADB_URL.` }),
    seed: Flags.string({ description: 'Seed for the data and the workload; the same seed replays the same run (default: random, printed).' }),
    employees: Flags.string({ description: 'Employees in the seed data (default 100; payments x2, orders x3).' }),
    transactions: Flags.string({ description: 'Workload transactions (default 300).' }),
    rate: Flags.string({ description: 'Workload transactions per second (default 30; 0: as fast as possible).' }),
    keep: Flags.boolean({ description: 'Keep everything running after the verdict and print how to explore it; Ctrl-C ends it.', allowNo: true }),
  };

  protected async execute(): Promise<CommandOutcome> {
    const { flags } = await this.parse(Sandbox);
    const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
    const { config } = loadConfig(Schema, SETTINGS, {
      flags: { target: flags.target, 'mariadb-url': flags['mariadb-url'], seed: num(flags.seed), employees: num(flags.employees), transactions: num(flags.transactions), rate: num(flags.rate), keep: flags.keep },
      env: environment(),
    });
    const json = this.jsonMode;
    const humanOut = json ? process.stderr : process.stdout;
    const tty = Boolean(humanOut.isTTY);
    const out = printer(humanOut, { tty });
    const live = canRenderLive() && !json;
    const say = (text: string) => process.stderr.write(`${text}\n`);
    // Steps and the sandbox log only warnings unless asked: the output above is the story.
    const env = environment();
    const level = (this.debugMode ? 'debug' : (env.MOLT_FAILBACK_LOG_LEVEL ?? 'warn')) as 'warn';
    const log = createLogger({ level, destination: process.stderr });

    const cleanup = new Cleanup();
    const controller = new AbortController();
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        say(`Second ${signal}: killing the sandbox's processes and exiting now.`);
        for (const left of cleanup.killNow()) say(`Left behind: ${left}`);
        process.exit(ExitCode.INTERRUPTED);
      }
      if (!controller.signal.aborted) {
        say(`\n${signal} received: stopping and cleaning up (press Ctrl-C again to quit at once).`);
        controller.abort(new AppError('INTERRUPTED', `Interrupted by ${signal}.`, { exitCode: ExitCode.INTERRUPTED }));
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const seed = config.seed ?? randomSeed();
      const run = await runSandbox({
        target: config.target,
        mariadbUrl: config.mariadbUrl,
        seed,
        employees: config.employees,
        transactions: config.transactions,
        rate: config.rate,
        keep: config.keep,
        log,
        cleanup,
        signal: controller.signal,
        abort: () => controller.abort(),
        out,
        wizardOutput: { live, json, interactive: isInteractive() },
      });
      const code = run.result.verdict === 'match' ? ExitCode.OK : ExitCode.MISMATCH;
      out.line();
      if (run.result.verdict !== 'match') out.line(renderReport(run.report));
      for (const l of renderSummary(run.result)) out.line(l);
      if (config.keep && run.result.kept) {
        if (json) process.stdout.write(`${JSON.stringify(run.result, jsonReplacer, 2)}\n`);
        out.line();
        for (const l of renderKept(run.result.kept)) out.line(l);
        if (!controller.signal.aborted) await new Promise<void>((resolve) => controller.signal.addEventListener('abort', () => resolve(), { once: true }));
      }
      const report = await cleanup.run();
      const cleaned = report.failed.length === 0 ? `Cleaned up: processes stopped, databases and the state folder removed (${(report.durationMs / 1000).toFixed(1)}s).` : `Clean-up problems: ${report.failed.map((f) => `${f.what}: ${f.error}`).join('; ')}`;
      out.line(cleaned);
      const result = { ...run.result, timings: { ...run.result.timings, cleanupMs: report.durationMs }, cleanup: { ok: report.failed.length === 0, failed: report.failed } };
      if (json && !config.keep) process.stdout.write(`${JSON.stringify(result, jsonReplacer, 2)}\n`);
      return { result, printed: true, exitCode: code };
    } finally {
      // Idempotent: a no-op after the clean-up above; the real clean-up when runSandbox threw.
      await cleanup.run();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // A stray handle (a keep-alive socket, a worker's port) must not keep a finished sandbox alive.
      setTimeout(() => process.exit(process.exitCode ?? 0), 3000).unref();
    }
  }
}
