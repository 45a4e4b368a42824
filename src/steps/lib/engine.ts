/**
 * How the wizard starts and recognises its embedded engine (`molt-failback replicator start`): the
 * files it keeps in the state folder, the command line (MOLT Replicator's camelCase flags plus ours),
 * the secret-free environment handoff of connection strings, and the fingerprint that lets a later run
 * adopt an engine started with the same settings instead of starting a second one.
 */
import { createHash, createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseHostPort } from '../../lib/conn.js';
import { AppError, ExitCode } from '../../lib/errors.js';
import { stagingConnOf, type FailbackConfig } from '../config.js';
import type { HttpClient } from '../services.js';

export const TARGET_CONN_ENV = 'MOLT_FAILBACK_REPLICATOR_TARGET_CONN';
export const STAGING_CONN_ENV = 'MOLT_FAILBACK_REPLICATOR_STAGING_CONN';

export interface EngineFiles {
  pidFile: string;
  logFile: string;
  tokenFile: string;
}

export const engineFiles = (stateDir: string): EngineFiles => ({
  pidFile: join(stateDir, 'replicator.pid'),
  logFile: join(stateDir, 'replicator.log'),
  tokenFile: join(stateDir, 'replicator.token'),
});

/** The bearer token (first non-empty line of the token file), or undefined when there is none yet. */
export function readTokenFile(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '');
}

/** http://host:port for a listen address; a wildcard host is probed on loopback. */
export function localUrl(addr: string, setting: string): string {
  const { host, port } = parseHostPort(addr, setting);
  const h = host === '' || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

export const metricsBase = (config: Pick<FailbackConfig, 'replicator'>): string => localUrl(config.replicator.metricsAddr, 'replicator.metricsAddr');

/** The port CockroachDB must reach: the webhook's listen port. */
export const bindPort = (config: Pick<FailbackConfig, 'replicator'>): number => parseHostPort(config.replicator.bindAddr, 'replicator.bindAddr').port;

/** Flags that must never be passed on the command line (they would show secrets in `ps`), or that defeat the setup. */
const FORBIDDEN_EXTRA = new Map<string, string>([
  ['--targetConn', `the target connection is passed through ${TARGET_CONN_ENV}, never on the command line`],
  ['--stagingConn', `the staging connection is passed through ${STAGING_CONN_ENV}, never on the command line`],
  ['--bindAddr', 'set replicator.bindAddr (--bind-addr) instead'],
  ['--metricsAddr', 'set replicator.metricsAddr (--metrics-addr) instead'],
  ['--tlsCertificate', 'set replicator.tlsCertificate (--tls-certificate) instead'],
  ['--tlsPrivateKey', 'set replicator.tlsPrivateKey (--tls-private-key) instead'],
  ['--stagingSchema', 'set staging.schema (--staging-schema) instead'],
]);

export function checkExtraFlags(flags: readonly string[]): { problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const f of flags) {
    const name = f.split('=')[0] as string;
    const why = FORBIDDEN_EXTRA.get(name);
    if (why) problems.push(`replicator.extraFlags must not contain ${name}: ${why}.`);
    if (name === '--disableAuthentication' || name === '--tlsSelfSigned') warnings.push(`${name} is for tests only: it weakens the webhook's security.`);
  }
  return { problems, warnings };
}

export interface EngineTls {
  serverCert: string;
  serverKey: string;
  /** CA that signed the changefeed's client certificate: the engine then requires it (mutual TLS). */
  clientCa?: string;
}

export interface EngineLaunch {
  /** Arguments after the CLI's own entry point, ending with --fingerprint. */
  args: string[];
  env: Record<string, string>;
  fingerprint: string;
  /** args with the fingerprint, as shown in plans and logs (no secrets in it). */
  display: string;
}

/** `table=c1,c2;...` for tables whose CockroachDB key order differs from the target's. */
export const sourceKeyColumnsFlag = (keys: Readonly<Record<string, readonly string[]>>): string =>
  Object.entries(keys)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([t, cols]) => `${t}=${cols.join(',')}`)
    .join(';');

/**
 * The engine's command line and environment. The fingerprint is an HMAC (keyed with the bearer token,
 * which only this state folder holds) over the flags and over SHA-256 digests of the connection
 * strings: it changes whenever a setting does, and reveals nothing about the secrets it covers.
 */
export function engineLaunch(
  config: FailbackConfig,
  o: { tls: EngineTls; tokenFile: string; token: string; sourceKeyColumns?: Readonly<Record<string, readonly string[]>> },
): EngineLaunch {
  const { problems } = checkExtraFlags(config.replicator.extraFlags);
  if (problems.length > 0) throw new AppError('ENGINE_FLAGS_INVALID', problems.join(' '), { exitCode: ExitCode.USAGE });
  const args = [
    'replicator',
    'start',
    '--stagingSchema',
    config.staging.schema,
    ...(config.staging.createSchema ? ['--stagingCreateSchema'] : []),
    '--bindAddr',
    config.replicator.bindAddr,
    '--metricsAddr',
    config.replicator.metricsAddr,
    '--tlsCertificate',
    o.tls.serverCert,
    '--tlsPrivateKey',
    o.tls.serverKey,
    '--authTokenFile',
    o.tokenFile,
    ...(o.tls.clientCa ? ['--tlsClientCa', o.tls.clientCa] : []),
  ];
  const keys = o.sourceKeyColumns && Object.keys(o.sourceKeyColumns).length > 0 ? sourceKeyColumnsFlag(o.sourceKeyColumns) : undefined;
  if (keys) args.push('--sourceKeyColumns', keys);
  if (config.replicator.verbose) args.push('-v');
  args.push(...config.replicator.extraFlags);
  const env = {
    [TARGET_CONN_ENV]: config.target.conn,
    [STAGING_CONN_ENV]: stagingConnOf(config),
  };
  const digest = (v: string) => createHash('sha256').update(v).digest('hex');
  const material = JSON.stringify({ args, env: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, digest(v)])) });
  const fingerprint = createHmac('sha256', o.token).update(material).digest('hex').slice(0, 32);
  const full = [...args, '--fingerprint', fingerprint];
  return { args: full, env, fingerprint, display: full.join(' ') };
}

/** What /_/diag tells about a running engine (only the fields the wizard relies on). */
export interface EngineDiag {
  pid?: number;
  fingerprint?: string;
  bindAddr?: string;
  raw: Record<string, unknown>;
}

/** GET <metricsBase>/_/diag; undefined when nothing (or something other than our engine) answers. */
export async function engineDiag(http: HttpClient, base: string, timeoutMs = 3000): Promise<EngineDiag | undefined> {
  let body: string;
  try {
    const res = await http.get(`${base}/_/diag`, { timeoutMs });
    if (res.status !== 200) return undefined;
    body = res.body;
  } catch {
    return undefined;
  }
  try {
    const raw = JSON.parse(body) as Record<string, unknown>;
    if (raw === null || typeof raw !== 'object') return undefined;
    return {
      pid: typeof raw.pid === 'number' ? raw.pid : undefined,
      fingerprint: typeof raw.fingerprint === 'string' ? raw.fingerprint : undefined,
      bindAddr: typeof raw.bindAddr === 'string' ? raw.bindAddr : undefined,
      raw,
    };
  } catch {
    return undefined;
  }
}

/** True when GET <base>/_/healthz answers 200. */
export async function engineHealthy(http: HttpClient, base: string, timeoutMs = 3000): Promise<boolean> {
  try {
    return (await http.get(`${base}/_/healthz`, { timeoutMs })).status === 200;
  } catch {
    return false;
  }
}
