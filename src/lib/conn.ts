/**
 * Connection strings: parse, classify by scheme, and redact. Knows URL shapes, not databases:
 * drivers live in the dialect folders. Nothing here may return or log a password.
 */
import { AppError, ExitCode } from './errors.js';

export type ConnKind = 'postgres' | 'mysql' | 'oracle';

export interface ParsedConn {
  kind: ConnKind;
  url: URL;
  host: string;
  port: number | undefined;
  user: string;
  /** Decoded password, for handing to a driver only. Never log it. */
  password: string;
  /** Path without the leading slash, decoded (database for PG/MySQL, service name for Oracle). */
  database: string;
  params: URLSearchParams;
}

const SCHEMES: Record<string, ConnKind> = {
  'postgres:': 'postgres',
  'postgresql:': 'postgres',
  'mysql:': 'mysql',
  'oracle:': 'oracle',
};

/** Parses a connection URL. `setting` names the option in errors (never the value: it may hold a password). */
export function parseConn(raw: string, setting = 'connection string'): ParsedConn {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('CONN_INVALID', `${setting} is not a valid URL.`, {
      exitCode: ExitCode.USAGE,
      actions: [
        'Use the form postgres://user:password@host:5432/db, mysql://user:password@host:3306/db or oracle://user:password@host:1521/SERVICE.',
        "Percent-encode special characters in the password: molt-failback escape-password --password '<password>'.",
      ],
    });
  }
  const kind = SCHEMES[url.protocol];
  if (!kind) {
    throw new AppError('CONN_SCHEME', `${setting} uses the unsupported scheme "${url.protocol.replace(/:$/, '')}".`, {
      exitCode: ExitCode.USAGE,
      actions: ['Use postgres:// (or postgresql://), mysql:// or oracle://.'],
    });
  }
  return {
    kind,
    url,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : undefined,
    user: safeDecode(url.username),
    password: safeDecode(url.password),
    database: safeDecode(url.pathname.replace(/^\//, '')),
    params: url.searchParams,
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const SECRET_PARAMS = /^(password|sslpassword|client_key|access_token|token|sslkey_password)$/i;

/** Replaces the password and secret query parameters with "****". Safe to log and to store in state. */
export function redactConn(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '<unparseable connection string>';
  }
  if (url.password) url.password = '****';
  for (const key of [...url.searchParams.keys()]) {
    if (SECRET_PARAMS.test(key)) url.searchParams.set(key, '****');
  }
  return url.toString();
}

/** Redacts every URL with userinfo found inside free text (error messages from drivers, SQL). */
export function redactText(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/@'"]*:)([^\s@'"]+)@/gi, '$1****@');
}

/** Splits "host:port" / ":port" / "[::1]:port" into parts; an empty host means all interfaces. */
export function parseHostPort(addr: string, setting = 'address'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr.trim());
  if (!m) {
    throw new AppError('ADDR_INVALID', `${setting} "${addr}" is not of the form host:port or :port.`, {
      exitCode: ExitCode.USAGE,
    });
  }
  const port = Number(m[3]);
  if (port < 0 || port > 65535) {
    throw new AppError('ADDR_INVALID', `${setting} "${addr}" has a port outside 0-65535.`, { exitCode: ExitCode.USAGE });
  }
  return { host: m[1] ?? m[2] ?? '', port };
}
