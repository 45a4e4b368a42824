/**
 * PostgreSQL error classification by SQLSTATE (https://www.postgresql.org/docs/current/errcodes-appendix.html).
 * Unlike MOLT Replicator, deadlocks (40P01) are retried, not only serialization failures.
 */
import type { ErrorClass } from '../../types.js';
import { SOCKET_ERROR_CODES, codeOf, errorChain, isTargetSchemaError, messageOf } from '../shared/errors.js';

const RETRY_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available (lock_timeout, NOWAIT)
  '57P01', // admin_shutdown (pg_terminate_backend, server stopping)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovery)
  '53300', // too_many_connections
  '25006', // read_only_sql_transaction: a failover left us on a standby for a moment
]);

const DEFER_SQLSTATES = new Set(['23503']); // foreign_key_violation

// node-postgres reports a dropped socket with these messages and no SQLSTATE.
const LOST_CONNECTION = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|server closed the connection/i;

export function classifyPg(err: unknown): ErrorClass {
  if (isTargetSchemaError(err)) return 'fatal';
  for (const e of errorChain(err)) {
    const code = codeOf(e);
    if (code !== undefined) {
      if (DEFER_SQLSTATES.has(code)) return 'defer';
      if (RETRY_SQLSTATES.has(code) || code.startsWith('08') || SOCKET_ERROR_CODES.has(code)) return 'retry';
    }
    if (code === undefined && LOST_CONNECTION.test(messageOf(e))) return 'retry';
  }
  return 'fatal';
}
