/**
 * Posts changefeed bodies the way CockroachDB's webhook sink does: HTTP/1.1 keep-alive, a few
 * connections in parallel, and a retry on 503 after the server's Retry-After (backpressure must slow
 * the sender down, never lose rows). Resolved messages use their own connection so they never queue
 * behind a 1 MiB body. Any other status is an engine failure and throws with the response text.
 */
import { Client, Pool } from 'undici';
import { sleep } from '../lib/stats.js';

export class WebhookError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookError';
  }
}

export interface PostStats {
  requests: number;
  bytes: number;
  retries503: number;
  /** Milliseconds from sending a body to its 200 (the final attempt only). */
  readonly latenciesMs: number[];
}

const HEADERS = { 'content-type': 'application/json' };

export class WebhookClient {
  readonly stats: PostStats = { requests: 0, bytes: 0, retries503: 0, latenciesMs: [] };
  private readonly pool: Pool;
  private readonly resolvedClient: Client;

  constructor(
    origin: string,
    private readonly path: string,
    connections: number,
    /** Give up when 503s persist this long: the engine is stuck, not busy. */
    private readonly stallMs: number,
  ) {
    const opts = { keepAliveTimeout: 60_000, headersTimeout: 300_000, bodyTimeout: 300_000 };
    this.pool = new Pool(origin, { ...opts, connections, pipelining: 1 });
    this.resolvedClient = new Client(origin, { ...opts, pipelining: 1 });
  }

  /** Posts one body until it is accepted (200). */
  async postBody(body: Buffer): Promise<void> {
    await this.post(this.pool, body, true);
  }

  async postResolved(hlc: string): Promise<void> {
    await this.post(this.resolvedClient, Buffer.from(`{"resolved":"${hlc}"}`), false);
  }

  private async post(dispatcher: Pool | Client, body: Buffer, record: boolean): Promise<void> {
    const firstTry = performance.now();
    let connectionErrors = 0;
    for (;;) {
      const started = performance.now();
      let status: number;
      let text: string;
      let retryAfter: string | string[] | undefined;
      try {
        const res = await dispatcher.request({ method: 'POST', path: this.path, headers: HEADERS, body });
        status = res.statusCode;
        retryAfter = res.headers['retry-after'];
        text = await res.body.text();
      } catch (err) {
        // A dropped keep-alive connection is retried like CockroachDB would, a few times only.
        if (++connectionErrors > 3) throw new WebhookError(`POST ${this.path} failed: ${(err as Error).message}`);
        await sleep(200 * connectionErrors);
        continue;
      }
      if (status === 200) {
        this.stats.requests++;
        this.stats.bytes += body.length;
        if (record) this.stats.latenciesMs.push(performance.now() - started);
        return;
      }
      if (status === 503) {
        this.stats.retries503++;
        if (performance.now() - firstTry > this.stallMs) {
          throw new WebhookError(`POST ${this.path}: still 503 after ${Math.round(this.stallMs / 1000)} s: ${text.slice(0, 300)}`);
        }
        await sleep(retryAfterMs(retryAfter));
        continue;
      }
      throw new WebhookError(`POST ${this.path} answered ${status}: ${text.slice(0, 500)}`);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.close(), this.resolvedClient.close()]);
  }
}

/** Retry-After in seconds (RFC 9110 also allows a date, which an engine has no reason to send). */
function retryAfterMs(header: string | string[] | undefined): number {
  const value = Number(Array.isArray(header) ? header[0] : header);
  if (!Number.isFinite(value) || value < 0) return 500;
  return Math.min(30_000, Math.max(50, value * 1000));
}
