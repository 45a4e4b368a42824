/**
 * MySQL / MariaDB error classification by server error number
 * (https://dev.mysql.com/doc/mysql-errors/8.0/en/server-error-reference.html) and mysql2's client codes.
 * Unlike MOLT Replicator, deadlocks (1213) and lock-wait timeouts (1205) are retried.
 */
import type { ErrorClass } from '../../types.js';
import { SOCKET_ERROR_CODES, codeOf, errorChain, isTargetSchemaError, messageOf } from '../shared/errors.js';

const RETRY_ERRNOS = new Set([
  1213, // ER_LOCK_DEADLOCK: the transaction was rolled back
  1205, // ER_LOCK_WAIT_TIMEOUT
  3572, // ER_LOCK_NOWAIT
  1040, // ER_CON_COUNT_ERROR: too many connections
  1053, // ER_SERVER_SHUTDOWN
  1927, // MariaDB ER_CONNECTION_KILLED
  4031, // MySQL ER_CLIENT_INTERACTION_TIMEOUT: disconnected by the server
  2002, // CR_CONNECTION_ERROR
  2003, // CR_CONN_HOST_ERROR
  2006, // CR_SERVER_GONE_ERROR
  2013, // CR_SERVER_LOST
]);

const DEFER_ERRNOS = new Set([
  1451, // ER_ROW_IS_REFERENCED_2: deleting a parent that still has children
  1452, // ER_NO_REFERENCED_ROW_2: a child whose parent is not there yet
  1216, // ER_NO_REFERENCED_ROW (older servers)
  1217, // ER_ROW_IS_REFERENCED (older servers)
]);

const RETRY_CODES = new Set(['PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR']);

// mysql2 reports commands on a dead connection with messages and no code.
const LOST_CONNECTION = /closed state|Connection lost|connection is closed/i;

export function classifyMy(err: unknown): ErrorClass {
  if (isTargetSchemaError(err)) return 'fatal';
  for (const e of errorChain(err)) {
    const errno = (e as { errno?: unknown } | null)?.errno;
    if (typeof errno === 'number') {
      if (DEFER_ERRNOS.has(errno)) return 'defer';
      if (RETRY_ERRNOS.has(errno)) return 'retry';
    }
    const code = codeOf(e);
    if (code !== undefined && (RETRY_CODES.has(code) || SOCKET_ERROR_CODES.has(code))) return 'retry';
    if (code === undefined && typeof errno !== 'number' && LOST_CONNECTION.test(messageOf(e))) return 'retry';
  }
  return 'fatal';
}
