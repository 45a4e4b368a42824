/**
 * Oracle error classification by ORA- number and node-oracledb's NJS- codes
 * (https://node-oracledb.readthedocs.io/en/latest/user_guide/exception_handling.html). node-oracledb
 * reports many lost-connection ORA- errors as NJS-500 with the ORA- text in the message, so both
 * are read.
 */
import type { ErrorClass } from '../../types.js';
import { SOCKET_ERROR_CODES, codeOf, errorChain, isTargetSchemaError, messageOf } from '../shared/errors.js';

const RETRY_ORA = new Set([
  60, // deadlock detected
  8177, // can't serialize access for this transaction
  54, // resource busy and acquire with NOWAIT
  30006, // resource busy; acquire with WAIT timeout expired
  28, // your session has been killed
  1033, // ORACLE initialization or shutdown in progress
  1034, // ORACLE not available
  1089, // immediate shutdown in progress
  1092, // ORACLE instance terminated
  3113, // end-of-file on communication channel
  3114, // not connected to ORACLE
  3135, // connection lost contact
  12170, // connect timeout
  12514, // listener does not currently know of service (a restarting database)
  12528, // listener: all appropriate instances are blocking new connections
  12537, // TNS: connection closed
  12541, // no listener
  12547, // TNS: lost contact
  12570, // TNS: packet reader failure
  25408, // can not safely replay call
]);

const DEFER_ORA = new Set([
  2291, // integrity constraint violated - parent key not found
  2292, // integrity constraint violated - child record found
]);

// NJS-500 connection broken, 501 lost contact, 503 could not connect, 510 timed out, 511 refused,
// 521 end of file, 040 pool queue timeout.
const RETRY_NJS = new Set(['NJS-500', 'NJS-501', 'NJS-503', 'NJS-510', 'NJS-511', 'NJS-521', 'NJS-040']);

function oraNumbers(e: unknown): number[] {
  const out: number[] = [];
  const n = (e as { errorNum?: unknown } | null)?.errorNum;
  if (typeof n === 'number' && n > 0) out.push(n);
  for (const m of messageOf(e).matchAll(/ORA-(\d{5})/g)) out.push(Number(m[1]));
  return out;
}

export function classifyOracle(err: unknown): ErrorClass {
  if (isTargetSchemaError(err)) return 'fatal';
  for (const e of errorChain(err)) {
    const nums = oraNumbers(e);
    if (nums.some((n) => DEFER_ORA.has(n))) return 'defer';
    if (nums.some((n) => RETRY_ORA.has(n))) return 'retry';
    const code = codeOf(e);
    if (code !== undefined && (RETRY_NJS.has(code) || SOCKET_ERROR_CODES.has(code))) return 'retry';
  }
  return 'fatal';
}
