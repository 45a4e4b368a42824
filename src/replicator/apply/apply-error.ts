/** The one error apply() rejects with (besides an abort): what happened, and how the caller should react. */
import { redactText } from '../../lib/conn.js';
import { AppError, ExitCode } from '../../lib/errors.js';
import type { ErrorClass } from '../types.js';

export interface ApplyErrorOptions {
  readonly errorClass: ErrorClass;
  readonly code: string;
  readonly table?: string;
  readonly column?: string;
  readonly cause?: unknown;
  readonly attempts?: number;
  readonly actions?: string[];
}

/**
 * errorClass tells the caller what to do: 'retry' (retries exhausted: back off longer and try the plan
 * again), 'defer' (a foreign-key violation: wait --quiescentPeriod, then retry), 'fatal' (stop and
 * report; the plan will not succeed as it is). Messages never carry connection strings.
 */
export class ApplyError extends AppError {
  readonly errorClass: ErrorClass;
  readonly table?: string;
  readonly column?: string;
  readonly attempts: number;

  constructor(message: string, options: ApplyErrorOptions) {
    super(options.code, redactText(message), {
      exitCode: ExitCode.FAILED,
      cause: options.cause,
      actions: options.actions,
      data: {
        errorClass: options.errorClass,
        ...(options.table !== undefined ? { table: options.table } : {}),
        ...(options.column !== undefined ? { column: options.column } : {}),
      },
    });
    this.name = 'ApplyError';
    this.errorClass = options.errorClass;
    this.table = options.table;
    this.column = options.column;
    this.attempts = options.attempts ?? 0;
  }
}
