/**
 * An HTTPS proxy between a changefeed and the engine's webhook that answers some requests with
 * 500 Internal Server Error, the receiver failures a real network or load balancer produces. Half of
 * the injected failures happen before the request reaches the engine, half after the engine has
 * staged it (so CockroachDB re-sends rows the engine already has). It terminates TLS with the
 * wizard's server certificate and talks to the engine with the wizard's client certificate (the
 * engine requires mutual TLS), so the changefeed, the engine and their certificates stay unchanged.
 * Choices come from a seeded generator. Always call close().
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { Random } from '../../src/sandbox/random.js';

export interface ProxyTls {
  serverCert: string;
  serverKey: string;
  caCert: string;
  clientCert: string;
  clientKey: string;
}

export interface FaultProxy {
  readonly stats: { forwarded: number; failedBefore: number; failedAfter: number };
  /** Share of requests answered 500 (0 turns the faults off). */
  setRate(rate: number): void;
  close(): Promise<void>;
}

export async function startFaultProxy(o: {
  listen: { host: string; port: number };
  upstream: { host: string; port: number };
  tls: ProxyTls;
  rate: number;
  seed: number;
}): Promise<FaultProxy> {
  const rng = new Random(o.seed);
  const read = (p: string) => readFileSync(p, 'utf8');
  const client = { ca: read(o.tls.caCert), cert: read(o.tls.clientCert), key: read(o.tls.clientKey) };
  const agent = new https.Agent({ keepAlive: true, ...client });
  let rate = o.rate;
  const stats = { forwarded: 0, failedBefore: 0, failedAfter: 0 };

  const fail = (res: ServerResponse, why: string) => {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(`injected fault (${why})\n`);
  };

  const forward = (req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const up = https.request(
        { host: o.upstream.host, port: o.upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: `localhost:${o.listen.port}` }, agent, servername: 'localhost' },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      up.on('error', reject);
      up.end(body);
    });

  const server = https.createServer({ cert: read(o.tls.serverCert), key: read(o.tls.serverKey) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const roll = rng.next();
      if (roll < rate / 2) {
        stats.failedBefore++;
        fail(res, 'before the engine');
        return;
      }
      forward(req, Buffer.concat(chunks)).then(
        (up) => {
          if (roll < rate) {
            stats.failedAfter++;
            fail(res, 'after the engine staged it');
            return;
          }
          stats.forwarded++;
          const headers = { ...up.headers };
          delete headers['transfer-encoding'];
          delete headers.connection;
          res.writeHead(up.status, headers);
          res.end(up.body);
        },
        (err: Error) => {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`proxy: ${err.message}\n`);
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.listen.port, o.listen.host, resolve);
  });
  return {
    stats,
    setRate: (r) => (rate = r),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      agent.destroy();
    },
  };
}
