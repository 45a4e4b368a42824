import { Flags } from '@oclif/core';
import { BaseCommand, type CommandOutcome } from '../lib/base-command.js';
import { AppError, ExitCode } from '../lib/errors.js';
import { configFlag, durationFlag, loadFailbackConfig, settingFlags } from '../steps/settings.js';
import { isInteractive } from '../steps/terminal.js';
import { renderReport, verifyTables, VERIFY_DEFAULTS, type VerifyProgress } from '../verify/index.js';

// The settings verify shares with `run`: same flags, environment variables, config file and prompts.
const SHARED_FLAGS = ['crdb-conn', 'target-conn', 'target-schema', 'tables'];
const sharedFlags = Object.fromEntries(Object.entries(settingFlags()).filter(([name]) => SHARED_FLAGS.includes(name)));

export default class Verify extends BaseCommand {
  static override summary = 'Compare tables between CockroachDB and the failback target, row by row.';
  static override description = [
    'Walks each table in primary-key order in chunks on both sides (little memory, whatever the size), compares row',
    'counts and content checksums per chunk, and lists the keys that differ: missing on the target, extra on the',
    'target, or changed (with the differing columns). Values are normalised, so a PostgreSQL or MariaDB target',
    'compares equal to CockroachDB when the data is the same. While the failback still replicates, differing key',
    'ranges are re-checked every --recheck-interval until they match or --settle-timeout passes; only differences',
    'that persist are reported. Row values are shown only with --show-values.',
    'Exit codes: 0 equal, 8 differences found, 2 bad configuration, 4 a database is unreachable.',
  ].join('\n');
  static override examples = [
    '<%= config.bin %> verify --crdb-conn "$CRDB" --target-conn "$TARGET" --tables employees,payments,orders',
    '<%= config.bin %> verify --config failback.json --table payments --settle-timeout 2m --json',
  ];
  static override flags = {
    ...sharedFlags,
    config: configFlag,
    table: Flags.string({ description: 'A table to verify instead of the configured tables (repeatable).', multiple: true }),
    'chunk-size': Flags.integer({ description: 'Rows per chunk and per read on each side.', default: VERIFY_DEFAULTS.chunkSize, min: 1 }),
    'max-diffs': Flags.integer({ description: 'Differing keys listed per table (the counts are always complete).', default: VERIFY_DEFAULTS.maxDiffs, min: 0 }),
    'recheck-interval': Flags.string({ description: 'Pause between re-checks of differing key ranges.', default: `${VERIFY_DEFAULTS.recheckIntervalMs / 1000}s` }),
    'settle-timeout': Flags.string({ description: 'How long differences may take to settle before they are reported (0: report at once).', default: `${VERIFY_DEFAULTS.settleTimeoutMs / 1000}s` }),
    'show-values': Flags.boolean({ description: 'Include the differing rows\' values in the output (they may be sensitive).', default: false }),
  };

  protected async execute(): Promise<CommandOutcome> {
    const { flags } = await this.parse(Verify);
    // Bad durations fail before any prompt for a missing setting.
    const recheckIntervalMs = durationFlag('recheck-interval', flags['recheck-interval']);
    const settleTimeoutMs = durationFlag('settle-timeout', flags['settle-timeout']);
    // --table narrows the run's configured tables; it counts as the tables setting (and satisfies it).
    const { config } = await loadFailbackConfig(flags.table?.length ? { ...flags, tables: flags.table } : flags, { interactive: isInteractive() });

    // Ctrl-C stops between reads; verify changes nothing, so there is nothing to save.
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
    try {
      const report = await verifyTables({
        source: { conn: config.crdb.conn },
        target: { conn: config.target.conn, schema: config.target.schema },
        tables: config.tables,
        chunkSize: flags['chunk-size'],
        maxDiffs: flags['max-diffs'],
        recheckIntervalMs,
        settleTimeoutMs,
        showValues: flags['show-values'],
        signal: abort.signal,
        log: this.logger,
        onProgress: (e) => this.progress(e),
      });
      return { result: report, human: renderReport(report), exitCode: report.verdict === 'equal' ? ExitCode.OK : ExitCode.MISMATCH };
    } catch (err) {
      if (abort.signal.aborted) {
        throw new AppError('INTERRUPTED', 'Verification interrupted; nothing was changed.', { exitCode: ExitCode.INTERRUPTED, cause: err });
      }
      throw err;
    } finally {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    }
  }

  /** Progress goes to the structured log on stderr; stdout carries only the report. */
  private progress(e: VerifyProgress): void {
    switch (e.kind) {
      case 'table-start':
        this.logger.info({ table: e.table }, 'verifying table');
        break;
      case 'chunk':
        this.logger.debug({ table: e.table, chunks: e.chunks, sourceRows: e.sourceRows, targetRows: e.targetRows, differingChunks: e.differingChunks }, 'chunk compared');
        break;
      case 'recheck':
        this.logger.info({ table: e.table, round: e.round, pendingDifferences: e.pendingDifferences }, 're-checked differing ranges');
        break;
      case 'table-done':
        this.logger.info({ table: e.table, verdict: e.report.verdict, differences: e.report.differences.total }, 'table verified');
        break;
    }
  }
}
