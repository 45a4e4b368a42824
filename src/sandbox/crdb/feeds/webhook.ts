/**
 * The HTTPS client of one feed: undici with keep-alive, TLS from the sink URI's ca_cert,
 * client_cert/client_key and insecure_tls_skip_verify, the Authorization header from
 * webhook_auth_header, and webhook_client_timeout as a whole-request deadline (no deadline when the
 * option is unset, as in CockroachDB v25.4). Failures are reported with the texts CockroachDB puts
 * in running_status: "<status line>: <body>" for non-2xx answers, Go-style `Post "<url>": ...` for
 * transport errors (connection refused, timeouts, TLS verification). One request at a time.
 */
import http from 'node:http';
import tls from 'node:tls';
import { gzipSync } from 'node:zlib';
import { Agent, request } from 'undici';
import type { WebhookTarget } from '../changefeed/sink-uri.js';

export class SinkRequestError extends Error {}

export interface WebhookClientOptions {
  authHeader: string | null;
  timeoutMs: number | null;
  compression: 'gzip' | null;
  extraHeaders: Record<string, string>;
  format: 'json' | 'csv';
}

export class WebhookClient {
  private readonly agent: Agent;
  /** URL as shown in error texts: replicator's access_token is hidden (a deliberate deviation). */
  private readonly shownUrl: string;

  constructor(
    private readonly target: WebhookTarget,
    private readonly opts: WebhookClientOptions,
  ) {
    this.agent = new Agent({
      connections: 16,
      keepAliveTimeout: 60_000,
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: {
        // Like Go's x509.SystemCertPool plus AppendCertsFromPEM: the CA is added to the system roots.
        ca: target.caPem ? [...tls.rootCertificates, target.caPem] : undefined,
        cert: target.certPem,
        key: target.keyPem,
        rejectUnauthorized: !target.skipVerify,
      },
    });
    this.shownUrl = target.requestUrl.replace(/([?&]access_token=)[^&]*/g, '$1redacted');
  }

  /** POSTs one body; resolves on 2xx, throws SinkRequestError otherwise. */
  async post(body: string, signal?: AbortSignal): Promise<void> {
    const headers: Record<string, string> = {
      ...this.opts.extraHeaders,
      'content-type': this.opts.format === 'csv' ? 'text/csv' : 'application/json',
    };
    if (this.opts.authHeader) headers.authorization = this.opts.authHeader;
    let payload: Buffer = Buffer.from(body, 'utf8');
    if (this.opts.compression === 'gzip') {
      payload = gzipSync(payload);
      headers['content-encoding'] = 'gzip';
    }
    const deadline = new AbortController();
    let timedOut = false;
    const timer = this.opts.timeoutMs !== null ? setTimeout(() => ((timedOut = true), deadline.abort()), this.opts.timeoutMs) : undefined;
    const onOuterAbort = () => deadline.abort();
    signal?.addEventListener('abort', onOuterAbort);
    let phase: 'headers' | 'body' = 'headers';
    try {
      const res = await request(this.target.requestUrl, { method: 'POST', body: payload, headers, dispatcher: this.agent, signal: deadline.signal });
      phase = 'body';
      if (res.statusCode >= 200 && res.statusCode < 300) {
        await res.body.dump();
        return;
      }
      const text = await res.body.text();
      const statusText = http.STATUS_CODES[res.statusCode] ?? '';
      throw new SinkRequestError(`${res.statusCode} ${statusText}: ${text.replace(/\s+$/, '')}`);
    } catch (err) {
      if (err instanceof SinkRequestError) throw err;
      if (timedOut) {
        throw new SinkRequestError(
          phase === 'headers'
            ? `Post "${this.shownUrl}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`
            : `Post "${this.shownUrl}": context deadline exceeded (Client.Timeout or context cancellation while reading body)`,
        );
      }
      if (signal?.aborted) throw new SinkRequestError(`Post "${this.shownUrl}": context canceled`);
      throw new SinkRequestError(`Post "${this.shownUrl}": ${goTransportText(err, this.target.requestUrl)}`);
    } finally {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onOuterAbort);
    }
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => undefined);
  }
}

interface NetError extends Error {
  code?: string;
  address?: string;
  port?: number;
  errors?: NetError[];
  reason?: string;
  cause?: unknown;
}

const hostPort = (addr: string, port: number | string) => (addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`);

/** Maps a Node/undici transport error to the text Go's net/http would produce. */
export function goTransportText(raw: unknown, url: string): string {
  let err = raw as NetError;
  if (err?.cause && !err.code) err = err.cause as NetError;
  // Happy-eyeballs failures come as an AggregateError; Go reports the last address it dialled.
  if (err?.errors?.length) err = err.errors[err.errors.length - 1] as NetError;
  const u = new URL(url);
  const port = u.port || '443';
  switch (err?.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${hostPort(err.address ?? u.hostname, err.port ?? port)}: connect: connection refused`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `dial tcp: lookup ${u.hostname}: no such host`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `dial tcp ${hostPort(err.address ?? u.hostname, err.port ?? port)}: i/o timeout`;
    case 'EHOSTUNREACH':
      return `dial tcp ${hostPort(err.address ?? u.hostname, err.port ?? port)}: connect: no route to host`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'EPIPE':
      return 'EOF';
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_GET_ISSUER_CERT':
      return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
    case 'ERR_TLS_CERT_ALTNAME_INVALID': {
      const names = /altnames: (.*)$/.exec(err.reason ?? err.message)?.[1]?.replace(/(DNS|IP Address):/g, '') ?? 'other names';
      return `tls: failed to verify certificate: x509: certificate is valid for ${names}, not ${u.hostname}`;
    }
    default:
      return err?.message ?? String(raw);
  }
}
