/**
 * The changefeed's webhook sink URI: `webhook-https://<host>:<port>/<path>?ca_cert=..&client_cert=..&client_key=..`.
 * The path names the target schema the way the engine routes it (PostgreSQL /db/schema, MySQL /db,
 * Oracle /SCHEMA in upper case), each segment percent-encoded. Certificate parameters are the PEM text
 * base64-encoded without line wraps and then URI-encoded: CockroachDB reads them with Go's url.Query(),
 * which would turn a raw "+" of base64 into a space (facts §1.3). The key is secret: redacted forms
 * replace every certificate parameter with ****.
 */
import type { DialectName, TargetSchema } from '../../replicator/types.js';

export interface SinkTls {
  caCertPem?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
}

export interface SinkLocation {
  host: string;
  port: number;
  /** Path with a leading slash, segments already percent-encoded. */
  path: string;
}

/** base64 (no wraps) then URI encoding, as `base64 -w0 file | jq -R -r @uri` does. */
export const encodeSinkParam = (pem: string): string => encodeURIComponent(Buffer.from(pem, 'utf8').toString('base64'));

/** The webhook path for a target schema. Oracle folds unquoted identifiers to upper case, so the path does too. */
export function webhookPath(dialect: DialectName, schema: TargetSchema): string {
  const parts = dialect === 'oracle' ? schema.parts.map((p) => p.toUpperCase()) : schema.parts;
  return `/${parts.map((p) => encodeURIComponent(p)).join('/')}`;
}

const hostForUrl = (host: string): string => (host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);

/** The sink URI without query parameters: what identifies "this replicator" in a job's sink_uri. */
export const sinkBase = (loc: SinkLocation): string => `webhook-https://${hostForUrl(loc.host)}:${loc.port}${loc.path}`;

const SECRET_PARAMS = ['ca_cert', 'client_cert', 'client_key'] as const;

export function buildSinkUri(loc: SinkLocation, tls: SinkTls, options: { redact?: boolean } = {}): string {
  const params: string[] = [];
  const add = (name: (typeof SECRET_PARAMS)[number], pem: string | undefined) => {
    if (pem !== undefined) params.push(`${name}=${options.redact ? '****' : encodeSinkParam(pem)}`);
  };
  add('client_cert', tls.clientCertPem);
  add('client_key', tls.clientKeyPem);
  add('ca_cert', tls.caCertPem);
  return params.length > 0 ? `${sinkBase(loc)}?${params.join('&')}` : sinkBase(loc);
}

/**
 * Reads host, port and path back from a sink URI as SHOW CHANGEFEED JOBS prints it (CockroachDB may
 * redact query parameters; they are ignored). Undefined for non-webhook sinks.
 */
export function parseSinkUri(uri: string): SinkLocation | undefined {
  const m = /^webhook-(https?):\/\//i.exec(uri.trim());
  if (!m) return undefined;
  let url: URL;
  try {
    url = new URL(`https://${uri.trim().slice(m[0].length)}`);
  } catch {
    return undefined;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return { host, port: url.port ? Number(url.port) : 443, path: url.pathname.replace(/\/+$/, '') || '/' };
}

/** Same host (case-insensitive), port and decoded path. */
export function sameSink(a: SinkLocation, b: SinkLocation): boolean {
  return sameEndpoint(a, b) && decodePath(a.path) === decodePath(b.path);
}

/** Same host and port: the changefeed points at this replicator, whatever the path. */
export function sameEndpoint(a: SinkLocation, b: SinkLocation): boolean {
  return normaliseHost(a.host) === normaliseHost(b.host) && a.port === b.port;
}

function normaliseHost(h: string): string {
  const x = h.toLowerCase().replace(/^\[|\]$/g, '');
  return x === '127.0.0.1' || x === '::1' ? 'localhost' : x;
}

function decodePath(p: string): string {
  try {
    return p.split('/').map(decodeURIComponent).join('/');
  } catch {
    return p;
  }
}

/** Replaces certificate parameters, access tokens and webhook_auth_header values in any text with ****. */
export function redactSinkText(text: string): string {
  return text
    .replace(/\b(ca_cert|client_cert|client_key|access_token)=[^&'\s]*/g, '$1=****')
    .replace(/(webhook_auth_header\s*=\s*'(?:Bearer\s+)?)[^']*(')/gi, '$1****$2')
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, '$1****');
}
