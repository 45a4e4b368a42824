/**
 * Shared helpers for the engine integration tests (engine-*.test.ts): TLS material, token files, an
 * in-process engine with captured logs, an HTTP(S) client on undici, polling, and a child-process
 * engine for crash tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Agent, request } from 'undici';
import { generate } from 'selfsigned';
import { Registry } from 'prom-client';
import { createLogger } from '../../src/lib/log.js';
import { mintToken, parseEngineConfig, startEngine, writeTokenFile, type Engine } from '../../src/replicator/index.js';

export const FIXTURES = new URL('../fixtures/webhook/', import.meta.url);
export const fixture = (name: string): string => readFileSync(new URL(name, FIXTURES), 'utf8');

export interface Tls {
  certFile: string;
  keyFile: string;
  ca: string;
}

/** A CA, a server certificate for 127.0.0.1/localhost signed by it, and optionally a client certificate. */
export async function makeTls(dir: string): Promise<Tls & { clientCert: string; clientKey: string; caFile: string }> {
  const ca = await generate([{ name: 'commonName', value: 'test CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'basicConstraints', cA: true }, { name: 'keyUsage', keyCertSign: true, digitalSignature: true, cRLSign: true }],
  });
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca: { key: ca.private, cert: ca.cert },
    extensions: [{ name: 'extKeyUsage', serverAuth: true }, { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
  });
  const client = await generate([{ name: 'commonName', value: 'cockroach' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca: { key: ca.private, cert: ca.cert },
    extensions: [{ name: 'extKeyUsage', clientAuth: true }],
  });
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  const caFile = join(dir, 'ca.crt');
  writeFileSync(certFile, server.cert);
  writeFileSync(keyFile, server.private, { mode: 0o600 });
  writeFileSync(caFile, ca.cert);
  return { certFile, keyFile, ca: ca.cert, caFile, clientCert: client.cert, clientKey: client.private };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`));
}

export function tokenFile(dir: string): { file: string; token: string } {
  const token = mintToken();
  const file = join(dir, 'tokens');
  writeTokenFile(file, token);
  return { file, token };
}

export interface RunningEngine {
  engine: Engine;
  registry: Registry;
  logs: string[];
  stop(): Promise<void>;
}

/** Fast test timings; callers override anything. */
export const FAST = { flushPeriod: '50ms', quiescentPeriod: '300ms', gracePeriod: '10s', bindAddr: '127.0.0.1:0', metricsAddr: '127.0.0.1:0' };

export async function startTestEngine(values: Record<string, unknown>): Promise<RunningEngine> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(line);
      cb();
    },
  });
  const log = createLogger({ level: 'debug', destination: sink });
  const registry = new Registry();
  const config = parseEngineConfig({ ...FAST, ...values });
  const engine = await startEngine(config, { log, registry });
  return { engine, registry, logs, stop: () => engine.stop() };
}

export interface HttpReply {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export function httpsAgent(ca?: string, client?: { cert: string; key: string }): Agent {
  return new Agent({ connect: { ...(ca ? { ca } : {}), ...(client ? { cert: client.cert, key: client.key } : {}) } });
}

export async function post(base: string, path: string, body: string | Buffer, o: { token?: string; agent?: Agent; headers?: Record<string, string>; method?: string } = {}): Promise<HttpReply> {
  const res = await request(`${base}${path}`, {
    method: (o.method ?? 'POST') as 'POST',
    body,
    headers: { 'content-type': 'application/json', ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...(o.headers ?? {}) },
    ...(o.agent ? { dispatcher: o.agent } : {}),
  });
  return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
}

export async function get(url: string, o: { token?: string; agent?: Agent } = {}): Promise<HttpReply> {
  const res = await request(url, { method: 'GET', headers: o.token ? { authorization: `Bearer ${o.token}` } : {}, ...(o.agent ? { dispatcher: o.agent } : {}) });
  return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

interface DiagSchema {
  schema: string;
  applied: { hlc: string } | null;
  pending: { hlc: string } | null;
  backlog: number;
  leaseHeldHere: boolean;
  healthy: boolean;
  problem?: string;
}

export async function diagSchemas(diagUrl: string): Promise<DiagSchema[]> {
  const r = await get(diagUrl);
  if (r.status !== 200) throw new Error(`diag ${r.status}`);
  return (JSON.parse(r.body) as { schemas: DiagSchema[] }).schemas;
}

const hlcKey = (t: string) => {
  const [n, l] = t.split('.');
  return [BigInt(n as string), Number(l ?? 0)] as const;
};

/** Waits until the schema's applied checkpoint reaches `hlc` (decimal text). */
export async function waitApplied(diagUrl: string, schemaKey: string, hlc: string, timeoutMs = 20_000): Promise<void> {
  const [wn, wl] = hlcKey(hlc);
  await waitFor(
    `${schemaKey} applied >= ${hlc}`,
    async () => {
      const s = (await diagSchemas(diagUrl)).find((x) => x.schema === schemaKey);
      if (!s?.applied) return false;
      const [n, l] = hlcKey(s.applied.hlc);
      return n > wn || (n === wn && l >= wl);
    },
    timeoutMs,
  );
}

/** Metric value from Prometheus text (first series matching name and label fragment). */
export function metricValue(text: string, name: string, labels = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith('{') || rest.startsWith(' '))) continue;
    if (labels && !line.includes(labels)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** Runs `molt-failback replicator start` from source in a child process. */
export interface ChildEngine {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the base URLs from the startup log line. */
  ready: Promise<{ listen: string; metrics: string }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnEngine(args: string[], env: Record<string, string>): ChildEngine {
  const entry = new URL('./engine-child.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let resolveReady: (v: { listen: string; metrics: string }) => void;
  let rejectReady: (e: Error) => void;
  const ready = new Promise<{ listen: string; metrics: string }>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  const onData = (d: Buffer) => {
    out += d.toString('utf8');
    const m = /"listen":"([^"]+)".*"metrics":"([^"]+)\/_\/varz"/.exec(out);
    if (m) resolveReady({ listen: m[1] as string, metrics: m[2] as string });
  };
  // Startup failures are asserted through `exited`; nobody has to await `ready` then.
  ready.catch(() => undefined);
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on('exit', (code, signal) => {
      rejectReady(new Error(`engine exited (code ${code}, signal ${signal}) before it was ready:\n${out}`));
      res({ code, signal });
    }),
  );
  return { child, output: () => out, ready, exited };
}
