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
  return new Promise<ReadBody>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
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
      size += c.length;
      if (size > limit) return tooLarge();
      chunks.push(c);
    });
    source.on('end', () => {
      if (done) return;
      done = true;
      resolve({ body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size), wireBytes });
    });
  });
}
