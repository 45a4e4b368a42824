/**
 * The terminal and process around a command: whether prompts and a live task list are possible, where
 * prompts draw, the session logger, and SIGINT/SIGTERM wired to an abort signal.
 */
import type { LevelWithSilent } from 'pino';
import { environment } from '../lib/config.js';
import { ExitCode } from '../lib/errors.js';
import { createLogger, type Logger } from '../lib/log.js';
import type { PromptIo } from '../lib/prompt.js';


/** Prompts need a terminal on stdin and somewhere visible to draw: stdout, or stderr when stdout is piped. */
export function isInteractive(): boolean {
  return Boolean(process.stdin.isTTY) && Boolean(process.stdout.isTTY || process.stderr.isTTY);
}

/** Prompts draw on stderr under --json or when stdout is not a terminal, so stdout carries only the result. */
export function promptIo(json = false): PromptIo {
  return process.stdout.isTTY && !json ? {} : { output: process.stderr };
}

/** A terminal with a known width: the only case where listr's live task list renders well. */
export function canRenderLive(): boolean {
  return Boolean(process.stdout.isTTY) && (process.stdout.columns ?? 0) > 0;
}

export interface LogFlags {
  json?: boolean;
  debug?: boolean;
  'log-level'?: string;
}

/**
 * Logs go through process.stderr (not fd 2 directly) so that listr, which buffers the streams while it
 * draws, can hold them until the task list is done. Under a live task list or --json the default is
 * warn: step progress is already on screen, and stdout is for the JSON result.
 */
export function sessionLogger(flags: LogFlags, live: boolean): Logger {
  const env = environment();
  const level = (flags['log-level'] ?? env.MOLT_FAILBACK_LOG_LEVEL ?? (flags.debug ? 'debug' : flags.json || live ? 'warn' : 'info')) as LevelWithSilent;
  return createLogger({ level, destination: process.stderr });
}

export interface AbortWiring {
  readonly signal: AbortSignal;
  /** Aborts as a signal would (used when the user presses Ctrl-C at a prompt, which eats SIGINT). */
  abort(): void;
  /** The signal that aborted the run, if any. */
  readonly received: () => NodeJS.Signals | undefined;
  dispose(): void;
}

/**
 * SIGINT/SIGTERM abort the signal: the running step stops at its next await, the runner saves the
 * state and the command exits 130. A second signal exits at once (the lock is stale-safe).
 */
export function wireAbort(notify: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): AbortWiring {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const handler = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      notify(`Second ${sig}: exiting now. Run the same command again to resume.`);
      process.exit(ExitCode.INTERRUPTED);
    }
    received = sig;
    notify(`\n${sig} received: stopping the current step and saving the state (press Ctrl-C again to quit at once).`);
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    abort: () => controller.abort(),
    received: () => received,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

