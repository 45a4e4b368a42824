import { Flags } from '@oclif/core';
import { BaseCommand, type CommandOutcome } from '../lib/base-command.js';
import { applyValue, type CollectedSettings } from '../lib/config.js';
import { AppError, ExitCode, renderErrorText } from '../lib/errors.js';
import { askConfirm } from '../lib/prompt.js';
import { collectFailbackSettings, configFlag, durationFlag, finishFailbackConfig, settingFlags, stateFileOf } from '../steps/settings.js';
import { FileStateStore } from '../steps/state/store.js';
import { isInteractive, promptIo, sessionLogger, wireAbort } from '../steps/terminal.js';
import { openSession } from '../steps/session.js';
import { renderTeardown, runTeardown } from '../steps/teardown-service.js';

export default class Teardown extends BaseCommand {
  static override summary = 'End the failback: cancel our changefeed, stop our engine, and (only when asked) remove its staging data.';
  static override description = [
    'Idempotent: running it twice is harmless. It acts only on what this wizard created and recorded in the state file:',
    'the changefeed is canceled only while its sink still points at our engine, and the engine is stopped (SIGTERM, then',
    'a bounded wait) only when its /_/diag endpoint reports the recorded pid and fingerprint. Anything else pointing at',
    'the engine is named and left alone. --purge-staging drops the engine\'s staging tables after a confirmation',
    '(or --yes), and only once the changefeed and the engine are gone. What it did is recorded in the state file.',
  ].join('\n');
  static override examples = ['<%= config.bin %> teardown', '<%= config.bin %> teardown --purge-staging', '<%= config.bin %> teardown --purge-staging --yes --json'];
  static override flags = {
    ...settingFlags(),
    config: configFlag,
    'purge-staging': Flags.boolean({ description: "Also drop the engine's staging tables (asks first unless --yes).", default: false }),
    yes: Flags.boolean({ char: 'y', description: 'Confirm --purge-staging without asking.', default: false }),
    grace: Flags.string({ description: 'How long to wait for the engine to exit after SIGTERM.', default: '30s', helpValue: 'DURATION' }),
  };

  protected async execute(): Promise<CommandOutcome> {
    const { flags } = await this.parse(Teardown);
    const graceMs = durationFlag('grace', flags.grace, 'BAD_GRACE');
    const interactive = isInteractive();
    // Refuse before touching anything, rather than after the changefeed and engine are already stopped.
    if (flags['purge-staging'] && !flags.yes && !interactive) {
      throw new AppError('CONFIRMATION_NEEDED', '--purge-staging needs a confirmation and there is no terminal to ask.', {
        exitCode: ExitCode.MISSING_INPUT,
        actions: ['Add --yes to confirm that the staging data may be dropped.'],
      });
    }
    const collected = collectFailbackSettings(flags);
    fillFromRecordedSubject(collected);
    const loaded = await finishFailbackConfig(collected, { interactive, promptIo: promptIo(flags.json) });
    const abort = wireAbort();
    const session = await openSession(loaded, { interactive, yes: flags.yes, dryRun: false, log: sessionLogger(flags, false), signal: abort.signal });
    const say = (line: string) => (flags.json ? process.stderr : process.stdout).write(`${session.scrub(line)}\n`);
    try {
      const result = await runTeardown(session, {
        purgeStaging: flags['purge-staging'],
        graceMs,
        progress: say,
        confirm: async (message) => flags.yes || askConfirm(message, { default: false }, promptIo(flags.json)),
      });
      if (result.error) process.stderr.write(`${session.scrub(renderErrorText(result.error, flags.debug))}\n`);
      return { result, human: renderTeardown(result), exitCode: result.exitCode };
    } catch (err) {
      if (abort.signal.aborted) {
        throw new AppError('INTERRUPTED', 'Teardown was interrupted; nothing was recorded for the part in progress.', {
          exitCode: ExitCode.INTERRUPTED,
          actions: ['Run molt-failback teardown again: it is safe to repeat.'],
        });
      }
      throw err;
    } finally {
      await session.close();
      abort.dispose();
    }
  }
}

/**
 * Teardown talks only to CockroachDB (and staging) and to our engine: it needs neither the tables nor
 * the target. When they are not given, the ones an earlier run recorded stand in for them (the target
 * only in its redacted form, which is never used to connect), so `teardown` works with just
 * --crdb-conn and the state file. Their source is the state file, so a problem with them names it.
 */
function fillFromRecordedSubject(collected: CollectedSettings): void {
  const tables = collected.missing.find((d) => d.key === 'tables');
  const target = collected.missing.find((d) => d.key === 'target.conn');
  if (!tables && !target) return;
  const stateFile = stateFileOf(collected);
  const subject = new FileStateStore(stateFile).read()?.subject;
  const source = { kind: 'state', path: stateFile } as const;
  if (tables && subject?.tables?.length) applyValue(collected, tables, [...subject.tables], source);
  if (target && subject?.target) applyValue(collected, target, subject.target, source);
}
