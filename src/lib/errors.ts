/**
 * The one error model: every failure the user can see is an AppError with a stable code, a message
 * that says what went wrong, actions that say what to do next, and a process exit code.
 * It must never carry a secret: callers redact connection strings before building messages.
 */

/** Process exit codes: part of the CLI's contract, documented in the README. */
export const ExitCode = {
  OK: 0,
  /** A step, check or comparison failed (the system is not in the expected state). */
  FAILED: 1,
  /** Bad usage or invalid configuration: fix the command line, env vars or config file. */
  USAGE: 2,
  /** Required values are missing and there is no terminal to ask for them. */
  MISSING_INPUT: 3,
  /** A peer (CockroachDB, target, staging, forward replicator, engine) could not be reached. */
  UNREACHABLE: 4,
  /** A wait (drain, monitor, verify settle) ran out of time. */
  TIMEOUT: 5,
  /** Another run holds the state lock, or the state file is unreadable. */
  STATE: 6,
  /** The user declined a confirmation, or one was needed under --yes without consent. */
  DECLINED: 7,
  /** Verification found differences between CockroachDB and the target. */
  MISMATCH: 8,
  /** Interrupted by SIGINT or SIGTERM; state was saved and the run can resume. */
  INTERRUPTED: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface AppErrorOptions {
  /** What to try next, shown as "Try this:" lines. */
  actions?: string[];
  exitCode?: ExitCodeValue;
  cause?: unknown;
  /** Extra machine-readable detail for --json output (must not hold secrets). */
  data?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly code: string;
  readonly actions: string[];
  readonly exitCode: ExitCodeValue;
  readonly data?: Record<string, unknown>;

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.actions = options.actions ?? [];
    this.exitCode = options.exitCode ?? ExitCode.FAILED;
    this.data = options.data;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      actions: this.actions,
      exitCode: this.exitCode,
      ...(this.data ? { data: this.data } : {}),
    };
  }
}

export const isAppError = (err: unknown): err is AppError => err instanceof AppError;

/** Turn anything thrown into an Error (graphile's coerceError). */
export function coerceError(err: unknown): Error {
  if (err instanceof Error) return err;
  return new Error(typeof err === 'string' ? err : JSON.stringify(err));
}

/** Wraps an unexpected error so that it renders through the same path as AppErrors. */
export function toAppError(err: unknown, fallbackCode = 'UNEXPECTED'): AppError {
  if (isAppError(err)) return err;
  const e = coerceError(err);
  const code = (e as { code?: unknown }).code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT') {
    return new AppError('UNREACHABLE', e.message, {
      exitCode: ExitCode.UNREACHABLE,
      cause: e,
      actions: ['Check that the server is running and that the host and port are right.'],
    });
  }
  return new AppError(fallbackCode, e.message, { cause: e, actions: ['Re-run with --debug for the stack trace.'] });
}

/** Human rendering: "Error (CODE): message" then "Try this:" actions. */
export function renderErrorText(err: AppError, debug = false): string {
  const lines = [`Error (${err.code}): ${err.message}`];
  if (err.actions.length > 0) {
    lines.push('Try this:');
    for (const a of err.actions) lines.push(`  - ${a}`);
  }
  if (debug) {
    let cause: unknown = err;
    while (cause instanceof Error) {
      if (cause.stack) lines.push(cause.stack);
      cause = (cause as { cause?: unknown }).cause;
    }
  }
  return lines.join('\n');
}
