/**
 * The engine's HTTP(S) listeners. The main listener (--bindAddr) serves the webhook sink and
 * /_/healthz, plus /_/varz and /_/diag when no --metricsAddr is given (/_/diag then needs the bearer
 * token, since the main port faces CockroachDB's network). With --metricsAddr a second plain-HTTP
 * listener serves /_/varz, /_/diag and /_/healthz. HTTPS uses the given certificate or a fresh
 * self-signed one; --tlsClientCa turns on mutual TLS. Keep-alive and server timeouts are set so slow or
 * stalled clients cannot pin connections, and close() drains in-flight requests within the grace period.
 */
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { AppError, ExitCode } from '../lib/errors.js';
import { parseHostPort } from '../lib/conn.js';
import type { Logger } from '../lib/log.js';
import { sendText } from './sink/handler.js';
import { TokenAuth } from './sink/auth.js';

export type TlsMode = 'none' | 'certificate' | 'self-signed';

export interface TlsMaterial {
  readonly mode: TlsMode;
  readonly cert?: string;
  readonly key?: string;
  /** CA that client certificates must chain to (mutual TLS). */
  readonly clientCa?: string;
}

/** Loads the TLS files, or generates a self-signed certificate (ECDSA P-256, SANs localhost, 127.0.0.1, ::1). */
export async function loadTls(o: { tlsCertificate?: string; tlsPrivateKey?: string; tlsSelfSigned: boolean; tlsClientCa?: string }): Promise<TlsMaterial> {
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new AppError('TLS_FILE', `cannot read the ${what} ${path}: ${(err as Error).message}`, { exitCode: ExitCode.FAILED });
    }
  };
  const clientCa = o.tlsClientCa ? read(o.tlsClientCa, 'client CA (--tlsClientCa)') : undefined;
  if (o.tlsCertificate && o.tlsPrivateKey) {
    return { mode: 'certificate', cert: read(o.tlsCertificate, 'certificate (--tlsCertificate)'), key: read(o.tlsPrivateKey, 'private key (--tlsPrivateKey)'), clientCa };
  }
  if (o.tlsSelfSigned) {
    // Loaded only here: selfsigned and its X.509 libraries cost about 16 MiB of resident memory in
    // every engine otherwise, and this mode is for tests.
    const { generate } = await import('selfsigned');
    const now = new Date();
    // selfsigned 5 defaults to sha1 and adds no IP SANs: ask for sha256 and name every loopback form.
    const pems = await generate([{ name: 'commonName', value: 'localhost' }, { name: 'organizationName', value: 'molt-failback' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate: new Date(now.getTime() - 60_000),
      notAfterDate: new Date(now.getTime() + 365 * 24 * 3600 * 1000),
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
      ],
    });
    return { mode: 'self-signed', cert: pems.cert, key: pems.private, clientCa };
  }
  return { mode: 'none' };
}

export interface Routes {
  /** The webhook data handler (everything that is not /_/...). */
  readonly sink: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  readonly health: () => Promise<{ ok: boolean; problems: string[]; warnings: string[] }>;
  readonly metrics: () => Promise<{ contentType: string; body: string }>;
  readonly diag: () => Promise<Record<string, unknown>>;
  /** Checks the bearer token for /_/diag on the main port. */
  readonly auth: TokenAuth;
}

export interface ServerOptions {
  readonly bindAddr: string;
  readonly metricsAddr?: string;
  readonly tls: TlsMaterial;
  readonly routes: Routes;
  readonly httpResponseTimeoutMs: number;
  readonly log: Logger;
}

export interface Listening {
  readonly server: http.Server;
  readonly url: string;
  readonly port: number;
}

export interface Servers {
  readonly main: Listening;
  readonly metrics?: Listening;
  /** Stops accepting, lets in-flight requests finish for up to graceMs, then cuts what is left. */
  close(graceMs: number): Promise<void>;
}

function baseUrl(scheme: 'http' | 'https', host: string, port: number): string {
  const h = host === '' || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `${scheme}://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

function tune(server: http.Server, responseTimeoutMs: number): void {
  // CockroachDB's Go client keeps idle connections for 90 s; keeping ours a little longer avoids the
  // race where the server closes a connection the client is about to reuse.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 60_000;
  server.requestTimeout = responseTimeoutMs;
  server.maxRequestsPerSocket = 0;
}

async function listen(server: http.Server, addr: string, setting: string): Promise<number> {
  const { host, port } = parseHostPort(addr, setting);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(
        new AppError('LISTEN_FAILED', `cannot listen on ${addr} (--${setting}): ${err.code === 'EADDRINUSE' ? 'the address is already in use' : err.message}`, {
          exitCode: ExitCode.FAILED,
          actions: err.code === 'EADDRINUSE' ? ['Stop the other process on that port, or choose another address.'] : [],
        }),
      );
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host === '' ? undefined : host);
  });
  return (server.address() as AddressInfo).port;
}

export async function startServers(o: ServerOptions): Promise<Servers> {
  const { routes, log } = o;
  const plainWarning = o.tls.mode === 'none' ? 'serving plain HTTP without TLS: CockroachDB webhook sinks require https (use --tlsCertificate/--tlsPrivateKey); tests only' : undefined;

  const health = async (res: ServerResponse) => {
    const h = await routes.health();
    const warnings = plainWarning ? [...h.warnings, plainWarning] : h.warnings;
    const extra = warnings.map((w) => `warning: ${w}`);
    if (h.ok) sendText(res, 200, ['OK', ...extra].join('\n'), warnings.length > 0 ? { 'X-Molt-Failback-Warning': warnings.join('; ').replace(/[^\x20-\x7e]/g, '?') } : {});
    else sendText(res, 503, [...h.problems.map((p) => `unhealthy: ${p}`), ...extra].join('\n'), { 'Retry-After': '5' });
  };
  const varz = async (res: ServerResponse) => {
    const m = await routes.metrics();
    res.writeHead(200, { 'Content-Type': m.contentType });
    res.end(m.body);
  };
  const diag = async (res: ServerResponse) => {
    const d = await routes.diag();
    const body = `${JSON.stringify(d, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`;
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
    res.end(body);
  };

  const guard = (fn: (req: IncomingMessage, res: ServerResponse) => Promise<void>) => (req: IncomingMessage, res: ServerResponse) => {
    fn(req, res).catch((err: unknown) => {
      log.error({ err: (err as Error).message }, 'request failed');
      sendText(res, 500, 'internal error');
    });
  };

  const adminOnly = (req: IncomingMessage, res: ServerResponse, pathname: string, withAuth: boolean): Promise<void> | undefined => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return undefined;
    if (pathname === '/_/healthz') return health(res);
    if (pathname === '/_/varz') return varz(res);
    if (pathname === '/_/diag') {
      if (withAuth && !routes.auth.check(TokenAuth.extract(req.headers.authorization, new URL(req.url ?? '/', 'http://x').searchParams))) {
        sendText(res, 401, 'missing or invalid access token');
        return Promise.resolve();
      }
      return diag(res);
    }
    return undefined;
  };

  const mainHandler = guard(async (req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    if (pathname.startsWith('/_/')) {
      if (pathname === '/_/healthz' && (req.method === 'GET' || req.method === 'HEAD')) return health(res);
      if (!o.metricsAddr) {
        const r = adminOnly(req, res, pathname, true);
        if (r) return r;
      }
      sendText(res, 404, '404 page not found');
      return;
    }
    return routes.sink(req, res);
  });

  const tlsOptions: https.ServerOptions | undefined =
    o.tls.mode === 'none'
      ? undefined
      : {
          cert: o.tls.cert,
          key: o.tls.key,
          minVersion: 'TLSv1.2',
          ...(o.tls.clientCa ? { ca: o.tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
        };
  const mainServer: http.Server = tlsOptions ? (https.createServer(tlsOptions, mainHandler) as unknown as http.Server) : http.createServer(mainHandler);
  tune(mainServer, o.httpResponseTimeoutMs);
  const sockets = new Set<Socket>();
  const track = (s: http.Server) =>
    s.on(tlsOptions && s === mainServer ? 'secureConnection' : 'connection', (sock: Socket) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
    });
  track(mainServer);
  if (o.tls.clientCa) {
    mainServer.on('tlsClientError', (err: Error) => log.warn({ err: err.message }, 'TLS handshake failed (client certificate missing or not signed by --tlsClientCa?)'));
  }
  const mainPort = await listen(mainServer, o.bindAddr, 'bindAddr');
  const main: Listening = { server: mainServer, port: mainPort, url: baseUrl(tlsOptions ? 'https' : 'http', parseHostPort(o.bindAddr).host, mainPort) };

  let metrics: Listening | undefined;
  if (o.metricsAddr) {
    const metricsServer = http.createServer(
      guard(async (req, res) => {
        const pathname = new URL(req.url ?? '/', 'http://x').pathname;
        const r = adminOnly(req, res, pathname, false);
        if (r) return r;
        sendText(res, 404, '404 page not found');
      }),
    );
    tune(metricsServer, 30_000);
    track(metricsServer);
    try {
      const port = await listen(metricsServer, o.metricsAddr, 'metricsAddr');
      metrics = { server: metricsServer, port, url: baseUrl('http', parseHostPort(o.metricsAddr).host, port) };
    } catch (err) {
      mainServer.close();
      throw err;
    }
  }

  const close = async (graceMs: number): Promise<void> => {
    const servers = [mainServer, ...(metrics ? [metrics.server] : [])];
    const closed = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    // Idle keep-alive connections would hold close() open; in-flight requests are left to finish.
    for (const s of servers) s.closeIdleConnections();
    const ticker = setInterval(() => servers.forEach((s) => s.closeIdleConnections()), 100);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      closed.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), Math.max(0, graceMs));
      }),
    ]);
    clearInterval(ticker);
    clearTimeout(timer);
    if (timedOut) {
      log.warn({ open: sockets.size }, 'requests still running at the end of the grace period; closing their connections');
      for (const s of servers) s.closeAllConnections();
      for (const sock of sockets) sock.destroy();
      await closed;
    }
  };

  return { main, metrics, close };
}
