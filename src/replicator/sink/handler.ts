/**
 * The webhook data handler. Order of checks, each with its own status so CockroachDB's changefeed knows
 * whether a retry can help: method (405), path (404 `404 page not found`), token (401 `missing or
 * invalid access token`), body size and encoding (413, 415), body syntax and fields (400 with the
 * reason), target schema/table (400 `unknown schema: "db"."schema"`), backpressure or staging trouble
 * (503 + Retry-After), then 200 `OK` only after the staging write committed. Nothing is staged on any
 * error path. With -v, one log line per request; tokens never appear in logs (access_token is removed
 * from the logged path).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../lib/log.js';
import type { EngineMetrics, WebhookOutcome } from '../metrics.js';
import type { TargetSchema } from '../types.js';
import { TokenAuth } from './auth.js';
import { BodyError, ByteBudget, readBody } from './body.js';
import type { IngestResult, Ingestor } from './ingest.js';
import { parseDataPath } from './path.js';
import { parseWebhookBuffer, PayloadError } from './payload.js';

export interface PathDialect {
  readonly schemaPathSegments: 1 | 2;
  schemaFromPath(segments: readonly string[]): TargetSchema;
}

export interface SinkOptions {
  readonly dialect: PathDialect;
  readonly auth: TokenAuth;
  readonly ingest: Pick<Ingestor, 'rows' | 'resolved' | 'empty'>;
  readonly metrics: EngineMetrics;
  readonly log: Logger;
  /** >= 1 logs every request. */
  readonly verbose: number;
  readonly maxBodyBytes: number;
  /**
   * Most request-body bytes read, parsed and staged at once (default: twice --maxBodyBytes, at least
   * 16 MiB); further requests wait up to `inflightWaitMs` (default 5 s), then get 503.
   */
  readonly maxInflightBytes?: number;
  readonly inflightWaitMs?: number;
}

export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = text.endsWith('\n') ? text : `${text}\n`;
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** The request path with access_token removed, safe to log. */
export function loggablePath(url: URL): string {
  const params = new URLSearchParams(url.search);
  if (params.has('access_token')) params.set('access_token', '****');
  const q = params.toString();
  return q ? `${url.pathname}?${q}` : url.pathname;
}

/** Logs repeated problems at most once per interval, counting what was suppressed. */
class Throttle {
  private readonly seen = new Map<string, { at: number; suppressed: number }>();
  constructor(private readonly everyMs: number) {}
  allow(key: string): number | undefined {
    const now = Date.now();
    const s = this.seen.get(key);
    if (s && now - s.at < this.everyMs) {
      s.suppressed++;
      return undefined;
    }
    const suppressed = s?.suppressed ?? 0;
    this.seen.set(key, { at: now, suppressed: 0 });
    if (this.seen.size > 1000) this.seen.clear();
    return suppressed;
  }
}

/** The default bound on request-body bytes in flight. */
export const defaultInflightBytes = (maxBodyBytes: number): number => Math.max(16 * 1024 * 1024, 2 * maxBodyBytes);

export function createSinkHandler(o: SinkOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const throttle = new Throttle(10_000);
  const budget = new ByteBudget(o.maxInflightBytes ?? defaultInflightBytes(o.maxBodyBytes));
  return async (req, res) => {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'http://sink.invalid');
    let status = 0;
    let outcome: WebhookOutcome = 'bad_request';
    let rows = 0;
    let bytes = 0;
    let reason: string | undefined;
    let release: (() => void) | undefined;
    let settling: Promise<void> | undefined;
    const reply = (s: number, text: string, out: WebhookOutcome, headers: Record<string, string> = {}) => {
      status = s;
      outcome = out;
      if (s >= 400) reason = text;
      sendText(res, s, text, headers);
    };
    try {
      if (req.method !== 'POST' && req.method !== 'PUT') {
        reply(405, `method ${req.method} not allowed: the changefeed sink takes POST`, 'method_not_allowed', { Allow: 'POST, PUT' });
        return;
      }
      const path = parseDataPath(url.pathname, o.dialect.schemaPathSegments);
      if (!path.ok) {
        reply(404, '404 page not found', 'not_found');
        reason = path.reason;
        return;
      }
      const token = TokenAuth.extract(req.headers.authorization, url.searchParams);
      if (!o.auth.check(token)) {
        reply(401, 'missing or invalid access token', 'unauthorized');
        return;
      }
      let schema: TargetSchema;
      try {
        schema = o.dialect.schemaFromPath(path.segments);
      } catch (err) {
        reply(404, '404 page not found', 'not_found');
        reason = (err as Error).message;
        return;
      }
      // A compressed body may decode to anything up to the limit, so it reserves the limit.
      const declared = Number(req.headers['content-length']);
      const plain = !req.headers['content-encoding'] || /^\s*identity\s*$/i.test(String(req.headers['content-encoding']));
      const cost = plain && Number.isFinite(declared) && declared >= 0 ? Math.min(declared, o.maxBodyBytes) : o.maxBodyBytes;
      release = await budget.acquire(cost, o.inflightWaitMs ?? 5000);
      if (!release) {
        reply(503, 'too many request bodies in flight, retry later', 'backpressure', { 'Retry-After': '1' });
        return;
      }
      let body: Buffer;
      try {
        const read = await readBody(req, o.maxBodyBytes);
        body = read.body;
        bytes = read.wireBytes;
      } catch (err) {
        if (err instanceof BodyError) {
          reply(err.status, err.message, err.status === 413 ? 'too_large' : err.status === 415 ? 'unsupported_encoding' : 'bad_request', err.status === 413 ? { Connection: 'close' } : {});
          if (err.status === 413) res.on('finish', () => req.destroy());
        } else {
          status = 499;
          reason = (err as Error).message;
          res.destroy();
        }
        return;
      }
      o.metrics.httpPayloadBytes.inc(bytes);
      o.metrics.httpPayloadSize.observe(bytes);
      let parsed: ReturnType<typeof parseWebhookBuffer>;
      try {
        // Parsed from the bytes (UTF-8 checked first): no request-sized string is ever built.
        parsed = parseWebhookBuffer(body);
      } catch (err) {
        if (err instanceof PayloadError) {
          reply(400, err.message, 'bad_request');
          return;
        }
        throw err;
      }
      let result: IngestResult;
      if (parsed.kind === 'empty') {
        result = await o.ingest.empty(schema);
      } else if (parsed.kind === 'resolved') {
        result = await o.ingest.resolved(schema, parsed.hlc);
      } else {
        result = await o.ingest.rows(schema, parsed.mutations);
      }
      rows = result.rows;
      settling = result.settling;
      reply(result.status, result.body, result.outcome, result.retryAfter !== undefined ? { 'Retry-After': String(result.retryAfter) } : {});
    } catch (err) {
      o.log.error({ err: (err as Error).message, stack: (err as Error).stack }, 'unexpected error in the webhook handler');
      reply(503, 'internal error, retry later', 'unavailable', { 'Retry-After': '5' });
    } finally {
      // A staging write that outlived its answer still holds this body's mutations in memory.
      if (settling && release) void settling.finally(release);
      else release?.();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (status > 0 && status !== 499) {
        o.metrics.httpStatus.inc({ code: String(status) });
        o.metrics.httpLatency.observe(seconds);
        o.metrics.webhookRequests.inc({ outcome });
      }
      // Nothing below logs other requests, so the line (and the path scrub) is built only when it may be.
      if (o.verbose >= 1 || status >= 400) {
        const line = { method: req.method, path: loggablePath(url), status, latencyMs: Math.round(seconds * 1e4) / 10, rows, bytes, remote: req.socket.remoteAddress, ...(reason ? { reason } : {}) };
        if (o.verbose >= 1) o.log.debug(line, 'httpRequest');
        if (status >= 400 && status !== 401 && status !== 499) {
          const suppressed = throttle.allow(`${status}:${reason}`);
          if (suppressed !== undefined) o.log.warn({ ...line, ...(suppressed > 0 ? { suppressedSimilar: suppressed } : {}) }, 'webhook request rejected');
        } else if (status === 401) {
          const suppressed = throttle.allow('401');
          if (suppressed !== undefined) o.log.warn({ path: line.path, remote: line.remote, ...(suppressed > 0 ? { suppressedSimilar: suppressed } : {}) }, 'webhook request without a valid token');
        }
      }
    }
  };
}
