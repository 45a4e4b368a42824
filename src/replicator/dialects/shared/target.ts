/**
 * Small pieces every TargetPool implementation shares: target schema names, statement loops that honour
 * an abort signal, and the error raised when a target cannot be reached. No SQL and no driver.
 */
import { redactText } from '../../../lib/conn.js';
import { AppError, ExitCode } from '../../../lib/errors.js';
import type { TargetSchema, WriteResult } from '../../types.js';

export function makeTargetSchema(parts: readonly string[]): TargetSchema {
  return Object.freeze({ parts: Object.freeze([...parts]), key: parts.join('.').toLowerCase() });
}

/** schemaFromPath for a dialect that names a schema with `count` path segments. */
export function schemaFromSegments(segments: readonly string[], count: 1 | 2, example: string): TargetSchema {
  if (segments.length !== count || segments.some((s) => s.length === 0)) {
    throw new AppError(
      'TARGET_SCHEMA_PATH',
      `expecting ${count} path segment${count === 1 ? '' : 's'} naming the target schema (${example}), got ${segments.length}`,
      { exitCode: ExitCode.USAGE },
    );
  }
  return makeTargetSchema(segments);
}

/**
 * Runs statements one after another, checking the signal before each; sums the affected rows that
 * `exec` reports.
 */
export async function runStatements<S>(
  statements: readonly S[],
  exec: (s: S) => Promise<number>,
  signal: AbortSignal | undefined,
): Promise<WriteResult> {
  let rows = 0;
  for (const s of statements) {
    signal?.throwIfAborted();
    rows += await exec(s);
  }
  return { rows, statements: statements.length };
}

/** A target that cannot be reached (ping, connect), with the driver's message scrubbed of secrets. */
export function targetUnreachable(label: string, err: unknown): AppError {
  const msg = redactText(err instanceof Error ? err.message : String(err));
  return new AppError('TARGET_UNREACHABLE', `Cannot reach the ${label} target: ${msg}`, {
    exitCode: ExitCode.UNREACHABLE,
    cause: err,
    actions: ['Check that the target database is running and that --targetConn names the right host, port, user and database.'],
  });
}

/** Guards a TargetTx against use after its transaction ended. */
export function assertOpen(done: boolean): void {
  if (done) throw new Error('target transaction already finished: TargetTx must not be used outside transaction()');
}
