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
 * `exec` reports. With `encode`, each statement is turned into what `exec` sends (inlined text,
 * binary parameters) while the target still executes the one before: the drivers send a statement as
 * soon as they are called on an idle connection, so that CPU work overlaps the round trip instead of
 * adding to it.
 */
export async function runStatements<S, E = S>(
  statements: readonly S[],
  exec: (s: E) => Promise<number>,
  signal: AbortSignal | undefined,
  encode?: (s: S) => E,
): Promise<WriteResult> {
  const prepare = encode ?? ((s: S) => s as unknown as E);
  let rows = 0;
  let next = statements.length > 0 ? prepare(statements[0] as S) : undefined;
  for (let i = 0; i < statements.length; i++) {
    signal?.throwIfAborted();
    const running = exec(next as E);
    try {
      next = i + 1 < statements.length ? prepare(statements[i + 1] as S) : undefined;
    } catch (err) {
      // Do not leave the statement in flight unobserved.
      await running.catch(() => undefined);
      throw err;
    }
    rows += await running;
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
