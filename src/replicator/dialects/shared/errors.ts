/**
 * Helpers for error classification that every dialect shares: walking `cause` chains and recognising
 * Node socket failures. The dialects own the database error codes.
 */
import { TargetSchemaError } from '../../types.js';

/** Node.js network error codes that mean the connection is gone or could not be made: worth a retry. */
export const SOCKET_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/** The error and its causes (at most 8 deep), so wrapped driver errors still classify. */
export function errorChain(err: unknown): unknown[] {
  const out: unknown[] = [];
  let cur: unknown = err;
  while (cur !== undefined && cur !== null && out.length < 8) {
    out.push(cur);
    cur = typeof cur === 'object' ? (cur as { cause?: unknown }).cause : undefined;
  }
  return out;
}

export const isTargetSchemaError = (err: unknown): boolean => errorChain(err).some((e) => e instanceof TargetSchemaError);

export const codeOf = (e: unknown): string | undefined => {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : typeof c === 'number' ? String(c) : undefined;
};

export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : typeof e === 'string' ? e : '');
