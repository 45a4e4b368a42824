/**
 * The base of every command: common flags (--json, --debug, --log-level), one error renderer for
 * humans and machines, and exit codes from the AppError model. Commands implement `execute()` and
 * return a result; rendering and exit codes happen here so commands stay thin.
 */
import { Command, Flags } from '@oclif/core';
import type { Logger } from './log.js';
import { createLogger } from './log.js';
import { AppError, ExitCode, renderErrorText, toAppError } from './errors.js';
import { environment } from './config.js';

export interface CommandOutcome<T = unknown> {
  /** Machine result printed as JSON under --json. */
  result: T;
  /** Human rendering printed to stdout otherwise (undefined prints nothing). */
  human?: string;
  /** Exit code for a result that is not an error (e.g. a mismatch report). */
  exitCode?: number;
  /** The command already wrote its output while running (a server that announced itself): print nothing more. */
  printed?: boolean;
}

export abstract class BaseCommand extends Command {
  static override baseFlags = {
    json: Flags.boolean({ description: 'Print the result as JSON on stdout (logs stay on stderr).', default: false }),
    debug: Flags.boolean({ description: 'Show stack traces and debug logs.', default: false }),
    'log-level': Flags.string({
      description: 'Log level for the structured logs on stderr.',
      options: ['trace', 'debug', 'info', 'warn', 'error', 'silent'],
    }),
  };

  protected jsonMode = false;
  protected debugMode = false;
  private cachedLogger?: Logger;

  protected abstract execute(): Promise<CommandOutcome>;

  /** Structured logger on stderr; quieter under --json unless asked. */
  protected get logger(): Logger {
    if (!this.cachedLogger) {
      const env = environment();
      const level = (this.logLevelFlag ?? env.MOLT_FAILBACK_LOG_LEVEL ?? (this.debugMode ? 'debug' : this.jsonMode ? 'warn' : 'info')) as
        | 'info'
        | 'debug';
      this.cachedLogger = createLogger({ level });
    }
    return this.cachedLogger;
  }

  private logLevelFlag?: string;

  /** Reads the common flags early (before execute) from raw argv; oclif parses them again per command. */
  private primeCommonFlags(): void {
    this.jsonMode = this.argv.includes('--json');
    this.debugMode = this.argv.includes('--debug');
    const i = this.argv.findIndex((a) => a === '--log-level' || a.startsWith('--log-level='));
    if (i >= 0) {
      const a = this.argv[i] as string;
      this.logLevelFlag = a.includes('=') ? a.split('=')[1] : this.argv[i + 1];
    }
  }

  async run(): Promise<void> {
    this.primeCommonFlags();
    let code: number = ExitCode.OK;
    try {
      const outcome = await this.execute();
      if (outcome.printed) {
        // nothing more to print
      } else if (this.jsonMode) process.stdout.write(`${JSON.stringify(outcome.result, jsonReplacer, 2)}\n`);
      else if (outcome.human !== undefined && outcome.human !== '') process.stdout.write(outcome.human.endsWith('\n') ? outcome.human : `${outcome.human}\n`);
      code = outcome.exitCode ?? ExitCode.OK;
    } catch (err) {
      if (isOclifExit(err)) throw err;
      // Loaded only on this path: commands that never prompt (the engine) should not load inquirer.
      const { isPromptExit } = await import('./prompt.js');
      const appErr = isPromptExit(err)
        ? new AppError('INTERRUPTED', 'Interrupted at a prompt; nothing after it was done.', {
            exitCode: ExitCode.INTERRUPTED,
            actions: ['Run the same command again to continue.'],
          })
        : toAppError(err);
      if (this.jsonMode) process.stdout.write(`${JSON.stringify({ error: appErr.toJSON() }, jsonReplacer, 2)}\n`);
      process.stderr.write(`${renderErrorText(appErr, this.debugMode)}\n`);
      code = appErr.exitCode;
    }
    if (code !== ExitCode.OK) this.exit(code);
  }
}

/** bigint values (HLC nanos, job ids) are printed as strings in JSON output. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

function isOclifExit(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'oclif' in err && typeof (err as { oclif?: { exit?: unknown } }).oclif?.exit === 'number';
}

export { AppError, ExitCode };
