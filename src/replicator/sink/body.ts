/**
 * Reads a request body with a hard size limit, decompressing gzip/deflate/br when CockroachDB sends
 * `compression=` (v25.2+). The limit applies to the decoded size too, so a small compressed body cannot
 * expand without bound. zstd has no decoder in Node 20 and gets 415 with advice.
 */
import type { IncomingMessage } from 'node:http';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Transform } from 'node:stream';

export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
    this.name = 'BodyError';
  }
}

export interface ReadBody {
  /** Decoded body. */
  readonly body: Buffer;
  /** Bytes received on the wire. */
  readonly wireBytes: number;
}

function decoderFor(encoding: string | undefined): Transform | undefined {
  const e = (encoding ?? '').trim().toLowerCase();
  if (e === '' || e === 'identity') return undefined;
  if (e === 'gzip' || e === 'x-gzip') return createGunzip();
  if (e === 'deflate') return createInflate();
  if (e === 'br') return createBrotliDecompress();
  if (e === 'zstd') throw new BodyError(415, 'Content-Encoding zstd is not supported (Node.js 20 has no zstd decoder): create the changefeed with compression=gzip, or without compression');
  throw new BodyError(415, `unsupported Content-Encoding "${e}"`);
}

export function readBody(req: IncomingMessage, limit: number): Promise<ReadBody> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new BodyError(413, `request body of ${declared} bytes is larger than --maxBodyBytes (${limit})`));
  }
  let decoder: Transform | undefined;
  try {
    decoder = decoderFor(req.headers['content-encoding']);
  } catch (err) {
    return Promise.reject(err);
  }
  // With a declared length and no encoding the body is copied into one buffer as it arrives, so the
  // chunks and their concatenation never coexist (at 1 MiB per request and several requests at once,
  // that was a second copy of every body in memory).
  const exact = !decoder && Number.isInteger(declared) && declared > 0 ? Buffer.allocUnsafe(declared) : undefined;
  return new Promise<ReadBody>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let filled = 0;
    let wireBytes = 0;
    let done = false;
    const fail = (err: Error) => {
      if (done) return;
      done = true;
      req.unpipe();
      decoder?.destroy();
      reject(err);
    };
    const tooLarge = () => fail(new BodyError(413, `request body is larger than --maxBodyBytes (${limit})`));
    req.on('data', (c: Buffer) => {
      wireBytes += c.length;
      if (wireBytes > limit) tooLarge();
    });
    req.on('error', (err) => fail(err));
    req.on('aborted', () => fail(new Error('request aborted by the client')));
    const source = decoder ? req.pipe(decoder) : req;
    if (decoder) decoder.on('error', (err) => fail(new BodyError(400, `could not decompress the body: ${err.message}`)));
    source.on('data', (c: Buffer) => {
      if (done) return;
      if (exact && chunks.length === 0 && filled + c.length <= exact.length) {
        exact.set(c, filled);
        filled += c.length;
      } else chunks.push(c);
      size += c.length;
      if (size > limit) return tooLarge();
    });
    source.on('end', () => {
      if (done) return;
      done = true;
      let body: Buffer;
      if (exact && chunks.length === 0) body = filled === exact.length ? exact : exact.subarray(0, filled);
      else if (exact) body = Buffer.concat([exact.subarray(0, filled), ...chunks], size);
      else body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      resolve({ body, wireBytes });
    });
  });
}

/**
 * Bounds the bytes of request bodies being read, parsed and staged at once. Each body costs memory
 * several times its size until its staging write returns (the body, the binary arrays built from it,
 * the driver's message buffer), and a changefeed may open many connections: without a bound, memory
 * grows with the sender's parallelism. A request waits (unread, so TCP pushes back on the sender) for
 * room, first come first served; one request is always admitted when nothing else is in flight, even
 * if it alone exceeds the budget. Safe for concurrent use within one process.
 */
export class ByteBudget {
  private used = 0;
  private readonly waiters: { bytes: number; grant: () => void }[] = [];

  constructor(readonly capacity: number) {}

  /** Bytes currently admitted. */
  get inUse(): number {
    return this.used;
  }

  /**
   * Waits for room for `bytes` (at most `timeoutMs`); resolves with a release function, or undefined
   * when the wait timed out (nothing is held then). Release exactly once.
   */
  acquire(bytes: number, timeoutMs: number): Promise<(() => void) | undefined> {
    const n = Math.max(0, bytes);
    const release = () => {
      this.used -= n;
      this.drain();
    };
    if (this.waiters.length === 0 && (this.used === 0 || this.used + n <= this.capacity)) {
      this.used += n;
      return Promise.resolve(once(release));
    }
    return new Promise((resolve) => {
      const waiter = {
        bytes: n,
        grant: () => {
          clearTimeout(timer);
          resolve(once(release));
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(undefined);
        // The head may now fit where this one did not.
        this.drain();
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private drain(): void {
    for (;;) {
      const next = this.waiters[0];
      if (!next || !(this.used === 0 || this.used + next.bytes <= this.capacity)) return;
      this.waiters.shift();
      this.used += next.bytes;
      next.grant();
    }
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
