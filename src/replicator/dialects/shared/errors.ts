/**
 * Helpers for error classification that every dialect shares: walking `cause` chains and recognising
 * Node socket failures. The dialects own the database error codes.
 */
import { errorChain } from '../../../lib/error-chain.js';
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

// In lib/ so that apply/ walks causes the same way without importing a dialect module.
export { errorChain };

export const isTargetSchemaError = (err: unknown): boolean => errorChain(err).some((e) => e instanceof TargetSchemaError);

export const codeOf = (e: unknown): string | undefined => {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : typeof c === 'number' ? String(c) : undefined;
};

export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : typeof e === 'string' ? e : '');
