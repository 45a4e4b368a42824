/**
 * libpq-style TLS settings in connection URLs (sslmode, sslrootcert, sslcert, sslkey), read the same way
 * for PostgreSQL and MySQL targets (MOLT Replicator emulates them for MySQL, and the runbook's MySQL
 * example uses them). Each dialect maps the result onto its driver's TLS options. Files are read here;
 * their paths may appear in errors, their contents never.
 */
import { readFileSync } from 'node:fs';
import { AppError, ExitCode } from '../../../lib/errors.js';

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

export interface TlsSettings {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Check the certificate chain against `ca` (or the system roots). */
  readonly verifyChain: boolean;
  /** Check that the certificate names the host. */
  readonly verifyHost: boolean;
}

export interface TlsPlan {
  readonly mode: SslMode;
  /** What to try first; undefined means a plain connection. */
  readonly first: TlsSettings | undefined;
  /** For allow / prefer: what to try when the first way is refused. */
  readonly fallback?: TlsSettings | undefined | 'none';
}

const MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

/**
 * Reads the TLS parameters. `defaultMode` applies when the URL has no sslmode (libpq's default is
 * "prefer"; MOLT Replicator connects to MySQL without TLS unless asked).
 */
export function tlsPlanFromParams(
  params: URLSearchParams,
  defaultMode: SslMode,
  readFile: (path: string) => Buffer = (p) => readFileSync(p),
): TlsPlan {
  const raw = params.get('sslmode');
  if (raw !== null && !MODES.includes(raw as SslMode)) {
    throw new AppError('CONN_SSLMODE', `sslmode "${raw}" is not one of ${MODES.join(', ')}.`, {
      exitCode: ExitCode.USAGE,
    });
  }
  const load = (name: string): Buffer | undefined => {
    const path = params.get(name);
    if (!path) return undefined;
    try {
      return readFile(path);
    } catch (err) {
      throw new AppError('CONN_TLS_FILE', `Cannot read the ${name} file "${path}": ${(err as Error).message}`, {
        exitCode: ExitCode.USAGE,
        actions: [`Check the ${name} path in the connection string (relative paths start from the current directory).`],
        cause: err,
      });
    }
  };
  const ca = load('sslrootcert');
  const cert = load('sslcert');
  const key = load('sslkey');
  let mode = (raw as SslMode | null) ?? defaultMode;
  // libpq: "require" with a root certificate behaves like "verify-ca".
  if (mode === 'require' && ca) mode = 'verify-ca';
  const unverified: TlsSettings = { ca, cert, key, verifyChain: false, verifyHost: false };
  switch (mode) {
    case 'disable':
      return { mode, first: undefined };
    case 'allow':
      return { mode, first: undefined, fallback: unverified };
    case 'prefer':
      return { mode, first: unverified, fallback: 'none' };
    case 'require':
      return { mode, first: unverified };
    case 'verify-ca':
      return { mode, first: { ca, cert, key, verifyChain: true, verifyHost: false } };
    case 'verify-full':
      return { mode, first: { ca, cert, key, verifyChain: true, verifyHost: true } };
  }
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN']);

/**
 * For allow / prefer: tries the first way with one probe connection and uses the fallback when the
 * server refuses it for another reason than being unreachable (an unreachable server is reported later,
 * by ping or the first statement). Other modes need no probe.
 */
export async function resolveTls(
  plan: TlsPlan,
  probe: (tls: TlsSettings | undefined) => Promise<void>,
): Promise<TlsSettings | undefined> {
  if (plan.fallback === undefined) return plan.first;
  const second = plan.fallback === 'none' ? undefined : plan.fallback;
  try {
    await probe(plan.first);
    return plan.first;
  } catch (err) {
    if (UNREACHABLE.has((err as { code?: string }).code ?? '')) return plan.first;
    try {
      await probe(second);
      return second;
    } catch {
      return plan.first;
    }
  }
}
