/**
 * The webhook sink URI: scheme check (`webhook-https` only), TLS material from the `ca_cert`,
 * `client_cert`, `client_key` (standard base64 of PEM) and `insecure_tls_skip_verify` parameters,
 * validated like CockroachDB does when CREATE CHANGEFEED runs, the request URL with those four
 * parameters removed (all others kept, e.g. replicator's access_token), and the redacted form shown
 * in job descriptions (client_key and userinfo replaced by `redacted`).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';

export interface WebhookTarget {
  /** https:// URL actually POSTed to (TLS parameters stripped). */
  requestUrl: string;
  caPem?: string;
  certPem?: string;
  keyPem?: string;
  skipVerify: boolean;
}

export class SinkUriError extends Error {}

const TLS_PARAMS = ['insecure_tls_skip_verify', 'ca_cert', 'client_cert', 'client_key'];

/** Go's strconv.ParseBool. */
function parseGoBool(param: string, v: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw new SinkUriError(`param ${param} must be a bool: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

/** Go's base64.StdEncoding.DecodeString strictness, with its error position. */
export function decodeStdBase64(param: string, v: string): Buffer {
  const illegal = (i: number) => new SinkUriError(`param ${param} must be base 64 encoded: illegal base64 data at input byte ${i}`);
  for (let i = 0; i < v.length; i++) {
    const c = v[i] as string;
    if (!/[A-Za-z0-9+/=]/.test(c)) throw illegal(i);
    if (c === '=') {
      const rest = v.slice(i);
      if (!/^={1,2}$/.test(rest) || v.length % 4 !== 0) throw illegal(i);
      break;
    }
  }
  if (v.length % 4 !== 0) throw illegal(v.length);
  return Buffer.from(v, 'base64');
}

function hasPem(text: string, label: RegExp): boolean {
  return label.test(text);
}

export function parseSinkUri(uri: string): { url: URL; scheme: string } {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new SinkUriError(`parse ${JSON.stringify(uri)}: invalid URI for request`);
  }
  return { url, scheme: url.protocol.replace(/:$/, '') };
}

/** Validates TLS parameters and builds the request target. Call only for webhook-https URIs. */
export function webhookTarget(url: URL): WebhookTarget {
  const params = url.searchParams;
  const skip = params.get('insecure_tls_skip_verify');
  const skipVerify = skip !== null && skip !== '' ? parseGoBool('insecure_tls_skip_verify', skip) : false;
  const decode = (p: string) => {
    const v = params.get(p);
    return v === null || v === '' ? undefined : decodeStdBase64(p, v).toString('utf8');
  };
  const caPem = decode('ca_cert');
  const certPem = decode('client_cert');
  const keyPem = decode('client_key');
  if (caPem !== undefined) {
    let ok = false;
    try {
      ok = hasPem(caPem, /-----BEGIN CERTIFICATE-----/) && new X509Certificate(caPem) !== undefined;
    } catch {
      ok = false;
    }
    if (!ok) throw new SinkUriError(`failed to parse certificate data:${caPem}`);
  }
  if (certPem !== undefined && keyPem === undefined) throw new SinkUriError('client_cert requires client_key to be set');
  if (keyPem !== undefined && certPem === undefined) throw new SinkUriError('client_key requires client_cert to be set');
  if (certPem !== undefined && keyPem !== undefined) {
    const bad = (why: string) => new SinkUriError(`invalid client certificate data provided: ${why}`);
    if (!hasPem(certPem, /-----BEGIN [A-Z ]*CERTIFICATE-----/)) throw bad('tls: failed to find any PEM data in certificate input');
    if (!hasPem(keyPem, /-----BEGIN [A-Z ]*PRIVATE KEY-----/)) throw bad('tls: failed to find any PEM data in key input');
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(certPem);
    } catch {
      throw bad('x509: malformed certificate');
    }
    let key;
    try {
      key = createPrivateKey(keyPem);
    } catch {
      throw bad('tls: failed to parse private key');
    }
    if (!cert.checkPrivateKey(key)) throw bad('tls: private key does not match public key');
  }
  const reqUrl = new URL(url.toString());
  for (const p of TLS_PARAMS) reqUrl.searchParams.delete(p);
  const requestUrl = `https://${reqUrl.host}${reqUrl.pathname}${reqUrl.search}`;
  return { requestUrl, caPem, certPem, keyPem, skipVerify };
}

/** The sink URI as CockroachDB shows it: client_key and any password replaced by "redacted". */
export function redactSinkUri(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return uri;
  }
  if (url.password) url.password = 'redacted';
  if (url.searchParams.has('client_key')) {
    // Rebuild the query by hand to keep the other parameters byte-identical.
    const parts = url.search
      .replace(/^\?/, '')
      .split('&')
      .map((kv) => (kv.split('=')[0] === 'client_key' ? 'client_key=redacted' : kv));
    url.search = `?${parts.join('&')}`;
  }
  return url.toString();
}

/** For emulator logs only: also hides replicator's access_token (not something CockroachDB does). */
export function redactForLog(uri: string): string {
  return redactSinkUri(uri).replace(/([?&]access_token=)[^&]*/g, '$1redacted');
}
