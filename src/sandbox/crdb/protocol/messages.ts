/**
 * PostgreSQL v3 wire-protocol framing: a streaming reader that cuts a byte stream into messages, and
 * builders/parsers for the messages the emulator reads or writes. Pure functions over Buffers: no
 * sockets, no state beyond the reader's buffer.
 */

export const PROTOCOL_V3 = 196608;
export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;

export interface Message {
  /** Type byte as a one-character string ('Q', 'P', 'Z', ...). */
  type: string;
  /** Payload after the length word. */
  body: Buffer;
  /** The complete message bytes (type + length + body), for relaying unchanged. */
  raw: Buffer;
}

/** Accumulates chunks and yields complete typed messages (type byte + int32 length + body). */
export class MessageReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  /** Next complete message, or undefined when more bytes are needed. */
  next(): Message | undefined {
    if (this.buf.length < 5) return undefined;
    const len = this.buf.readInt32BE(1);
    if (len < 4) throw new Error(`invalid message length ${len}`);
    if (this.buf.length < len + 1) return undefined;
    const raw = this.buf.subarray(0, len + 1);
    this.buf = this.buf.subarray(len + 1);
    return { type: String.fromCharCode(raw[0] as number), body: raw.subarray(5), raw };
  }

  /** Next untyped startup-phase message (int32 length + body), or undefined. */
  nextStartup(): Buffer | undefined {
    if (this.buf.length < 4) return undefined;
    const len = this.buf.readInt32BE(0);
    if (len < 8 || len > 10_000) throw new Error(`invalid startup packet length ${len}`);
    if (this.buf.length < len) return undefined;
    const body = this.buf.subarray(4, len);
    this.buf = this.buf.subarray(len);
    return body;
  }

  /** Bytes received but not yet consumed (handed over when a socket changes owner). */
  takeRest(): Buffer {
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }
}

/** Sequential reader over a message body. */
export class BodyReader {
  private off = 0;
  constructor(private readonly b: Buffer) {}
  int16(): number {
    const v = this.b.readInt16BE(this.off);
    this.off += 2;
    return v;
  }
  int32(): number {
    const v = this.b.readInt32BE(this.off);
    this.off += 4;
    return v;
  }
  cstring(): string {
    const end = this.b.indexOf(0, this.off);
    if (end < 0) throw new Error('unterminated string in message');
    const s = this.b.toString('utf8', this.off, end);
    this.off = end + 1;
    return s;
  }
  bytes(n: number): Buffer {
    const v = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }
  rest(): Buffer {
    return this.b.subarray(this.off);
  }
  get done(): boolean {
    return this.off >= this.b.length;
  }
}

/** Builds messages from typed parts. */
class Writer {
  private parts: Buffer[] = [];
  private len = 0;
  private add(b: Buffer): this {
    this.parts.push(b);
    this.len += b.length;
    return this;
  }
  int8(v: number): this {
    const b = Buffer.alloc(1);
    b.writeUInt8(v);
    return this.add(b);
  }
  int16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    return this.add(b);
  }
  int32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return this.add(b);
  }
  cstring(s: string): this {
    return this.add(Buffer.from(`${s}\0`, 'utf8'));
  }
  bytes(b: Buffer): this {
    return this.add(b);
  }
  /** Typed message: type byte + length + body. */
  message(type: string): Buffer {
    const head = Buffer.alloc(5);
    head.write(type, 0, 'latin1');
    head.writeInt32BE(this.len + 4, 1);
    return Buffer.concat([head, ...this.parts]);
  }
  /** Untyped startup-phase packet: length + body. */
  packet(): Buffer {
    const head = Buffer.alloc(4);
    head.writeInt32BE(this.len + 4, 0);
    return Buffer.concat([head, ...this.parts]);
  }
}

// ---- backend (server -> client) messages ----

export const authenticationOk = () => new Writer().int32(0).message('R');
export const authenticationCleartext = () => new Writer().int32(3).message('R');
export const parameterStatus = (k: string, v: string) => new Writer().cstring(k).cstring(v).message('S');
export const backendKeyData = (pid: number, secret: number) => new Writer().int32(pid).int32(secret).message('K');
export const readyForQuery = (status: string) => new Writer().int8(status.charCodeAt(0)).message('Z');
export const noData = () => new Writer().message('n');
export const commandComplete = (tag: string) => new Writer().cstring(tag).message('C');

/** ErrorResponse ('E') or NoticeResponse ('N') from field code -> value. */
export function fieldsMessage(type: 'E' | 'N', fields: ReadonlyMap<string, string> | Record<string, string>): Buffer {
  const w = new Writer();
  const entries = fields instanceof Map ? [...fields.entries()] : Object.entries(fields);
  for (const [k, v] of entries) w.int8(k.charCodeAt(0)).cstring(v);
  w.int8(0);
  return w.message(type);
}

export function errorResponse(code: string, message: string, severity = 'ERROR', extra: Record<string, string> = {}): Buffer {
  return fieldsMessage('E', { S: severity, V: severity, C: code, M: message, ...extra });
}

export function parseFields(body: Buffer): Map<string, string> {
  const fields = new Map<string, string>();
  const r = new BodyReader(body);
  while (!r.done) {
    const code = r.bytes(1)[0] as number;
    if (code === 0) break;
    fields.set(String.fromCharCode(code), r.cstring());
  }
  return fields;
}

// ---- frontend (client -> server) messages ----

export function startupMessage(params: Record<string, string>): Buffer {
  const w = new Writer().int32(PROTOCOL_V3);
  for (const [k, v] of Object.entries(params)) w.cstring(k).cstring(v);
  w.int8(0);
  return w.packet();
}

export const cancelRequest = (pid: number, secret: number) => new Writer().int32(CANCEL_REQUEST).int32(pid).int32(secret).packet();
export const passwordMessage = (password: string) => new Writer().cstring(password).message('p');
export function saslInitialResponse(mechanism: string, data: string): Buffer {
  const payload = Buffer.from(data, 'utf8');
  return new Writer().cstring(mechanism).int32(payload.length).bytes(payload).message('p');
}
export const saslResponse = (data: string) => new Writer().bytes(Buffer.from(data, 'utf8')).message('p');
export const query = (sql: string) => new Writer().cstring(sql).message('Q');
export const terminate = () => new Writer().message('X');

export function parseMessage(name: string, sql: string, paramTypes: readonly number[]): Buffer {
  const w = new Writer().cstring(name).cstring(sql).int16(paramTypes.length);
  for (const t of paramTypes) w.int32(t);
  return w.message('P');
}

export interface ParsedParse {
  name: string;
  sql: string;
  paramTypes: number[];
}
export function readParse(body: Buffer): ParsedParse {
  const r = new BodyReader(body);
  const name = r.cstring();
  const sql = r.cstring();
  const n = r.int16();
  const paramTypes: number[] = [];
  for (let i = 0; i < n; i++) paramTypes.push(r.int32());
  return { name, sql, paramTypes };
}

export interface ParsedBind {
  portal: string;
  statement: string;
  paramFormats: number[];
  params: Array<Buffer | null>;
  resultFormats: number[];
}
export function readBind(body: Buffer): ParsedBind {
  const r = new BodyReader(body);
  const portal = r.cstring();
  const statement = r.cstring();
  const nf = r.int16();
  const paramFormats: number[] = [];
  for (let i = 0; i < nf; i++) paramFormats.push(r.int16());
  const np = r.int16();
  const params: Array<Buffer | null> = [];
  for (let i = 0; i < np; i++) {
    const len = r.int32();
    params.push(len < 0 ? null : Buffer.from(r.bytes(len)));
  }
  const nr = r.int16();
  const resultFormats: number[] = [];
  for (let i = 0; i < nr; i++) resultFormats.push(r.int16());
  return { portal, statement, paramFormats, params, resultFormats };
}
export function bindMessage(b: ParsedBind): Buffer {
  const w = new Writer().cstring(b.portal).cstring(b.statement).int16(b.paramFormats.length);
  for (const f of b.paramFormats) w.int16(f);
  w.int16(b.params.length);
  for (const p of b.params) {
    if (p === null) w.int32(-1);
    else w.int32(p.length).bytes(p);
  }
  w.int16(b.resultFormats.length);
  for (const f of b.resultFormats) w.int16(f);
  return w.message('B');
}

/** Describe/Close target: 'S' statement or 'P' portal, and its name. */
export function readTarget(body: Buffer): { kind: string; name: string } {
  const r = new BodyReader(body);
  const kind = String.fromCharCode(r.bytes(1)[0] as number);
  return { kind, name: r.cstring() };
}

export const readExecutePortal = (body: Buffer): string => new BodyReader(body).cstring();
export const readCString = (body: Buffer): string => new BodyReader(body).cstring();

export function readStartup(body: Buffer): { code: number; params: Map<string, string>; pid?: number; secret?: number } {
  const r = new BodyReader(body);
  const code = r.int32();
  const params = new Map<string, string>();
  if (code === CANCEL_REQUEST) return { code, params, pid: r.int32(), secret: r.int32() };
  // Any 3.x carries parameters; the session answers minors above 3.0 with NegotiateProtocolVersion.
  if (code >> 16 === 3) {
    while (!r.done) {
      const k = r.cstring();
      if (k === '') break;
      params.set(k, r.cstring());
    }
  }
  return { code, params };
}
