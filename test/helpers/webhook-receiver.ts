/**
 * A real HTTPS webhook receiver for tests of changefeeds (the emulator's, or anything else that
 * speaks CockroachDB's webhook sink format). It generates its own CA with a server certificate
 * (SAN localhost and 127.0.0.1) and a client certificate, checks a bearer token when given one,
 * answers with programmable status codes, and records every request with its body parsed without
 * number loss: integers become bigint, decimals keep their exact text (see rawToPlain).
 * Always call close() in after().
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { generate } from 'selfsigned';
import { parseRawJson, rawToPlain, RawObject, type RawJson } from '../../src/sandbox/crdb/util/raw-json.js';

export interface ReceivedRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  path: string;
  headers: IncomingMessage['headers'];
  rawBody: string;
  /** Parsed body (undefined when it is not JSON). */
  json?: RawJson;
  /** What the receiver answered. */
  status: number;
  receivedAt: number;
  kind: 'rows' | 'resolved' | 'other';
  /** Client certificate subject CN when the client presented one. */
  clientCertCn?: string;
}

export interface ReceivedMessage {
  /** Plain values: integers as bigint, decimals as exact strings. */
  after: Record<string, unknown> | null;
  before?: Record<string, unknown> | null;
  key: unknown[];
  topic: string;
  updated?: string;
  mvcc_timestamp?: string;
  /** Field names in the order they appear on the wire. */
  fields: string[];
  /** The message as raw JSON (numbers as RawNumber, to check JSON number vs string). */
  raw: RawObject;
  /** Index of the request that carried it, its path, and whether it was acknowledged (2xx). */
  request: number;
  path: string;
  acked: boolean;
}

export type Responder = (req: ReceivedRequest) => { status: number; body?: string; delayMs?: number } | undefined;

export interface WebhookReceiverOptions {
  /** When set, requests need `Authorization: Bearer <token>` or `?access_token=<token>` (else 401). */
  token?: string;
  /** Require a client certificate signed by the receiver's CA. */
  requireClientCert?: boolean;
}

export interface WebhookReceiver {
  readonly port: number;
  /** https://127.0.0.1:<port> */
  readonly baseUrl: string;
  readonly caPem: string;
  readonly clientCertPem: string;
  readonly clientKeyPem: string;
  readonly requests: ReceivedRequest[];
  /** A CockroachDB sink URI for this receiver: webhook-https://127.0.0.1:<port><path>?ca_cert=... */
  sinkUri(path?: string, opts?: { clientCert?: boolean; ca?: boolean; params?: Record<string, string>; host?: string }): string;
  /** Programs the answers (undefined from the responder means 200 OK). */
  respond(fn: Responder | undefined): void;
  /** Row messages of all requests, in arrival order (acked or not). */
  messages(): ReceivedMessage[];
  /** Resolved timestamps in arrival order, with whether they were acknowledged. */
  resolved(): Array<{ value: string; acked: boolean; request: number; path: string }>;
  waitFor(predicate: () => boolean, timeoutMs?: number, what?: string): Promise<void>;
  close(): Promise<void>;
}

const b64url = (pem: string) => encodeURIComponent(Buffer.from(pem).toString('base64'));

export async function startWebhookReceiver(options: WebhookReceiverOptions = {}): Promise<WebhookReceiver> {
  const ca = await generate([{ name: 'commonName', value: 'molt-failback test CA' }], {
    algorithm: 'sha256',
    keySize: 2048,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    algorithm: 'sha256',
    keySize: 2048,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  });
  const client = await generate([{ name: 'commonName', value: 'changefeed-client' }], {
    algorithm: 'sha256',
    keySize: 2048,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', clientAuth: true },
    ],
  });

  const requests: ReceivedRequest[] = [];
  let responder: Responder | undefined;

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let buf = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') buf = gunzipSync(buf);
      const rawBody = buf.toString('utf8');
      const url = new URL(req.url ?? '/', 'https://receiver');
      let json: RawJson | undefined;
      try {
        json = rawBody === '' ? undefined : parseRawJson(rawBody);
      } catch {
        json = undefined;
      }
      const kind: ReceivedRequest['kind'] = json instanceof RawObject ? (json.get('resolved') !== undefined ? 'resolved' : json.get('payload') !== undefined ? 'rows' : 'other') : 'other';
      const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate?.();
      const record: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        path: url.pathname,
        headers: req.headers,
        rawBody,
        json,
        status: 200,
        receivedAt: Date.now(),
        kind,
        clientCertCn: peer && typeof peer.subject?.CN === 'string' ? peer.subject.CN : undefined,
      };
      let status = 200;
      let body = 'OK\n';
      let delayMs = 0;
      if (options.token !== undefined) {
        const auth = req.headers.authorization;
        const ok = auth === `Bearer ${options.token}` || url.searchParams.get('access_token') === options.token;
        if (!ok) {
          status = 401;
          body = 'missing or invalid access token\n';
        }
      }
      if (status === 200 && responder) {
        const r = responder(record);
        if (r) {
          status = r.status;
          body = r.body ?? (status >= 200 && status < 300 ? 'OK\n' : `${status}\n`);
          delayMs = r.delayMs ?? 0;
        }
      }
      record.status = status;
      const finish = () => {
        requests.push(record);
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(body);
      };
      if (delayMs > 0) setTimeout(finish, delayMs);
      else finish();
    });
  };

  const srv = https.createServer(
    { key: server.private, cert: server.cert, ca: ca.cert, requestCert: true, rejectUnauthorized: options.requireClientCert ?? false },
    handler,
  );
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;

  const plain = (v: RawJson | undefined) => rawToPlain(v ?? null);

  return {
    port,
    baseUrl: `https://127.0.0.1:${port}`,
    caPem: ca.cert,
    clientCertPem: client.cert,
    clientKeyPem: client.private,
    requests,
    sinkUri(path = '/migration_db/migration_schema', o = {}) {
      const params: string[] = [];
      if (o.ca !== false) params.push(`ca_cert=${b64url(ca.cert)}`);
      if (o.clientCert) params.push(`client_cert=${b64url(client.cert)}`, `client_key=${b64url(client.private)}`);
      for (const [k, v] of Object.entries(o.params ?? {})) params.push(`${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
      return `webhook-https://${o.host ?? '127.0.0.1'}:${port}${path}${params.length ? `?${params.join('&')}` : ''}`;
    },
    respond(fn) {
      responder = fn;
    },
    messages() {
      const out: ReceivedMessage[] = [];
      requests.forEach((r, i) => {
        if (r.kind !== 'rows' || !(r.json instanceof RawObject)) return;
        const payload = r.json.get('payload');
        if (!Array.isArray(payload)) return;
        for (const m of payload) {
          if (!(m instanceof RawObject)) continue;
          const p = plain(m) as Record<string, unknown>;
          out.push({
            after: p.after as Record<string, unknown> | null,
            ...('before' in p ? { before: p.before as Record<string, unknown> | null } : {}),
            key: p.key as unknown[],
            topic: p.topic as string,
            ...(typeof p.updated === 'string' ? { updated: p.updated } : {}),
            ...(typeof p.mvcc_timestamp === 'string' ? { mvcc_timestamp: p.mvcc_timestamp } : {}),
            fields: m.entries.map(([k]) => k),
            raw: m,
            request: i,
            path: r.path,
            acked: r.status >= 200 && r.status < 300,
          });
        }
      });
      return out;
    },
    resolved() {
      return requests.flatMap((r, i) =>
        r.kind === 'resolved' && r.json instanceof RawObject ? [{ value: r.json.get('resolved') as string, acked: r.status >= 200 && r.status < 300, request: i, path: r.path }] : [],
      );
    },
    async waitFor(predicate, timeoutMs = 15_000, what = 'condition') {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${requests.length} requests received)`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close() {
      return new Promise<void>((resolve) => {
        srv.closeAllConnections();
        srv.close(() => resolve());
      });
    },
  };
}
