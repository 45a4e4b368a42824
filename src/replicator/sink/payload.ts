/**
 * Parses a CockroachDB webhook body: `{"payload":[...],"length":N}` (wrapped envelope, format=json) or
 * `{"resolved":"<hlc>"}`. Lenient on shape (fields CockroachDB may add, such as mvcc_timestamp, are
 * accepted and ignored, unlike MOLT Replicator which rejects them), strict on what the engine needs:
 * every error names the message index and the field, and nothing is returned half-parsed.
 * key/after/before are kept as the exact source text.
 */
import { isUtf8 } from 'node:buffer';
import { parseHlc, type Hlc } from '../../lib/hlc.js';
import type { Mutation, RawText } from '../types.js';
import { ByteJsonScanner, JsonScanError, utf8 } from './scan.js';

export type ParsedBody =
  | { readonly kind: 'empty' }
  | { readonly kind: 'resolved'; readonly hlc: Hlc }
  | { readonly kind: 'rows'; readonly mutations: readonly Mutation[] };

/** A body the sink must answer with 400; the message is the response text. */
export class PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
  }
}

/**
 * The unqualified table name of a topic: with the `full_table_name` option CockroachDB sends
 * db.schema.table; only the last part names the table inside the URL's target schema. Double-quoted
 * parts may contain dots.
 */
export function topicTable(topic: string): string {
  if (!topic.includes('"')) return topic.slice(topic.lastIndexOf('.') + 1);
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < topic.length; i++) {
    const ch = topic[i] as string;
    if (quoted) {
      if (ch === '"' && topic[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === '.') {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts[parts.length - 1] ?? '';
}

function hlcField(text: string, where: string): Hlc {
  let h: Hlc;
  try {
    h = parseHlc(text);
  } catch (err) {
    throw new PayloadError(`${where}: ${(err as Error).message}`);
  }
  if (h.nanos === 0n && h.logical === 0) throw new PayloadError(`${where}: mutation has zero time`);
  return h;
}

/**
 * A row change parsed from a body. `key` and `before` are decoded (short, or rare); `after`, the row
 * image, stays bytes of the body (rawAfter) and is decoded only when read, so intake never builds a
 * string per row image: staging copies the bytes.
 */
class BodyMutation implements Mutation {
  readonly before?: string | null;
  private afterText?: string | null;

  constructor(
    readonly table: string,
    readonly hlc: Hlc,
    readonly key: string,
    readonly rawAfter: RawText | null,
    before: string | null | undefined,
  ) {
    if (before !== undefined) this.before = before;
  }

  get after(): string | null {
    if (this.afterText === undefined) this.afterText = this.rawAfter ? utf8(this.rawAfter.bytes, this.rawAfter.start, this.rawAfter.end) : null;
    return this.afterText;
  }
}

const OBJ = 0x7b;
const ARR = 0x5b;
const NUL = 0x6e;
const STR = 0x22;
const MESSAGE_FIELDS = ['after', 'key', 'topic', 'updated', 'before'] as const;
const BODY_FIELDS = ['payload', 'length', 'resolved'] as const;

/** A string value's bytes in the body: [start, end) with the quotes; `escaped` when it has escapes. */
interface Span {
  start: number;
  end: number;
  escaped: boolean;
}

/**
 * Per-body parsing state. Rows of one source transaction repeat the same `updated`, and a body holds
 * few topics: their bytes are compared with the ones already seen and decoded only when new (rows of
 * one transaction share one Hlc object). The per-message state lives in fields and the member callback
 * is made once, so a message costs no allocation beyond its mutation and key text.
 */
class BodyParser {
  private lastUpdated: Span = { start: 0, end: 0, escaped: true };
  private lastHlc: Hlc | undefined;
  /** Recent topics: where their text is in the body, and their table names. */
  private readonly topics: { span: Span; table: string }[] = [];
  private readonly tables = new Map<string, string>();

  // The message being parsed.
  private index = 0;
  private problem: string | undefined;
  private topic: Span | undefined;
  private updated: Span | undefined;
  private keyStart = -1;
  private keyEnd = -1;
  private keyType = 0;
  private afterStart = -1;
  private afterEnd = -1;
  private afterType = 0;
  private beforeStart = -1;
  private beforeEnd = -1;
  private beforeType = 0;

  constructor(private readonly s: ByteJsonScanner) {}

  private where(): string {
    return `payload[${this.index}]`;
  }

  /** The string at the scanner (known to start with a quote), skipped, as a span. */
  private stringSpan(): Span {
    const start = this.s.pos;
    const escaped = this.s.skipString();
    return { start, end: this.s.pos, escaped };
  }

  private sameBytes(a: Span, b: Span): boolean {
    if (a.escaped || b.escaped || a.end - a.start !== b.end - b.start) return false;
    const bytes = this.s.bytes;
    for (let i = a.start, j = b.start; i < a.end; i++, j++) if (bytes[i] !== bytes[j]) return false;
    return true;
  }

  private text(span: Span): string {
    const b = this.s.bytes;
    return span.escaped ? (JSON.parse(utf8(b, span.start, span.end)) as string) : utf8(b, span.start + 1, span.end - 1);
  }

  private hlc(span: Span): Hlc {
    if (this.lastHlc && this.sameBytes(span, this.lastUpdated)) return this.lastHlc;
    const text = this.text(span);
    if (text === '') throw new PayloadError(`${this.where()}: "updated" is missing: create the changefeed WITH updated`);
    const h = hlcField(text, `${this.where()}: "updated"`);
    this.lastUpdated = span;
    this.lastHlc = h;
    return h;
  }

  private table(span: Span): string {
    for (const t of this.topics) if (this.sameBytes(span, t.span)) return t.table;
    const topic = this.text(span);
    if (topic === '') return '';
    let table = this.tables.get(topic);
    if (table === undefined) {
      table = topicTable(topic);
      if (this.tables.size < 1024) this.tables.set(topic, table);
    }
    if (!span.escaped) {
      if (this.topics.length >= 8) this.topics.shift();
      this.topics.push({ span, table });
    }
    return table;
  }

  private readonly member = (name: string): void => {
    const s = this.s;
    switch (name) {
      case 'topic':
      case 'updated': {
        const c = s.peek();
        if (c === STR) {
          if (name === 'topic') this.topic = this.stringSpan();
          else this.updated = this.stringSpan();
        } else {
          s.skip();
          if (c !== NUL) this.problem ??= `${this.where()}: "${name}" must be a string`;
        }
        return;
      }
      case 'key':
        this.keyType = s.peek();
        this.keyStart = s.skip();
        this.keyEnd = s.pos;
        return;
      case 'after':
        this.afterType = s.peek();
        this.afterStart = s.skip();
        this.afterEnd = s.pos;
        return;
      case 'before':
        this.beforeType = s.peek();
        this.beforeStart = s.skip();
        this.beforeEnd = s.pos;
        return;
      default:
        // mvcc_timestamp and anything else CockroachDB adds: accepted and ignored.
        s.skip();
    }
  };

  /**
   * Parses one message. The message is always consumed completely (syntax errors throw JsonScanError);
   * field problems are returned, so the caller can keep scanning and report the first one afterwards.
   */
  message(index: number): Mutation | PayloadError {
    const s = this.s;
    this.index = index;
    if (s.peek() !== OBJ) {
      s.skip();
      return new PayloadError(`${this.where()}: each message must be a JSON object`);
    }
    this.problem = undefined;
    this.topic = undefined;
    this.updated = undefined;
    this.keyStart = this.afterStart = this.beforeStart = -1;
    s.forEachMember(this.member, MESSAGE_FIELDS);
    if (this.problem) return new PayloadError(this.problem);
    const { keyStart, keyEnd, keyType, afterStart, afterEnd, afterType, beforeStart, beforeEnd, beforeType } = this;
    try {
      if (this.topic === undefined) throw new PayloadError('table name is empty, please ensure the table name is included in the path');
      const table = this.table(this.topic);
      if (table === '') throw new PayloadError('table name is empty, please ensure the table name is included in the path');
      if (this.updated === undefined) throw new PayloadError(`${this.where()}: "updated" is missing: create the changefeed WITH updated`);
      const hlc = this.hlc(this.updated);
      if (keyStart < 0) throw new PayloadError(`${this.where()}: "key" is missing: the changefeed must use envelope=wrapped (the webhook default)`);
      if (keyType !== ARR) throw new PayloadError(`${this.where()}: "key" must be a JSON array`);
      if (emptyArray(s.bytes, keyStart, keyEnd)) throw new PayloadError(`${this.where()}: "key" must not be empty`);
      const key = utf8(s.bytes, keyStart, keyEnd);
      if (afterStart < 0) throw new PayloadError(`${this.where()}: "after" is missing: the changefeed must use envelope=wrapped`);
      if (afterType !== OBJ && afterType !== NUL) throw new PayloadError(`${this.where()}: "after" must be a JSON object or null`);
      const rawAfter = afterType === NUL ? null : { bytes: s.bytes, start: afterStart, end: afterEnd };
      let before: string | null | undefined;
      if (beforeStart >= 0) {
        if (beforeType !== OBJ && beforeType !== NUL) throw new PayloadError(`${this.where()}: "before" must be a JSON object or null`);
        before = beforeType === NUL ? null : utf8(s.bytes, beforeStart, beforeEnd);
      }
      return new BodyMutation(table, hlc, key, rawAfter, before);
    } catch (err) {
      if (err instanceof PayloadError) return err;
      throw err;
    }
  }
}

/** `[` whitespace `]`: the key's bytes hold no value. */
function emptyArray(b: Uint8Array, start: number, end: number): boolean {
  for (let p = start + 1; p < end - 1; p++) {
    const c = b[p];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return false;
  }
  return true;
}

/** Parses a webhook body given as text. Throws PayloadError with the 400 reason. */
export function parseWebhookBody(text: string): ParsedBody {
  return parseWebhookBuffer(Buffer.from(text, 'utf8'));
}

/**
 * Parses a webhook body as received (bytes, after decompression). Throws PayloadError with the 400
 * reason. Row images keep pointing into `body` (see BodyMutation), so it must not be modified while the
 * mutations are in use.
 */
export function parseWebhookBuffer(body: Buffer): ParsedBody {
  if (!isUtf8(body)) throw new PayloadError('could not decode payload: the body is not valid UTF-8');
  const s = new ByteJsonScanner(body);
  if (s.atEnd()) return { kind: 'empty' };
  try {
    if (s.peek() !== OBJ) throw new PayloadError('could not decode payload: the body must be a JSON object');
    let resolved: string | undefined;
    let length: string | undefined;
    let mutations: Mutation[] | undefined;
    let firstProblem: PayloadError | undefined;
    let others = 0;
    s.forEachMember((name) => {
      if (name === 'resolved') {
        const c = s.peek();
        if (c === STR) resolved = s.readString();
        else if (c === NUL) s.skipValue();
        else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) resolved = s.number();
        else throw new PayloadError('"resolved" must be a string');
      } else if (name === 'length') {
        const c = s.peek();
        if (c === NUL) s.skipValue();
        else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) length = s.number();
        else throw new PayloadError('"length" must be a number');
      } else if (name === 'payload') {
        const c = s.peek();
        if (c === NUL) s.skipValue();
        else if (c !== ARR) throw new PayloadError('"payload" must be a JSON array');
        else {
          const list: Mutation[] = [];
          const parser = new BodyParser(s);
          s.forEachItem((i) => {
            const m = parser.message(i);
            if (m instanceof PayloadError) firstProblem ??= m;
            else list.push(m);
          });
          mutations = list;
        }
      } else {
        others++;
        s.skipValue();
      }
    }, BODY_FIELDS);
    if (!s.atEnd()) s.fail('unexpected trailing characters');
    const hasResolved = resolved !== undefined && resolved !== '';
    // CockroachDB sends rows and resolved timestamps in separate bodies: acknowledging such a body as a
    // resolved timestamp would drop its rows with a 200.
    if (hasResolved && ((mutations?.length ?? 0) > 0 || firstProblem)) throw new PayloadError('a body carries either "payload" or "resolved", not both');
    if (hasResolved) return { kind: 'resolved', hlc: hlcField(resolved as string, 'resolved') };
    if (firstProblem) throw firstProblem;
    if (mutations === undefined) {
      // `{}` is an empty batch; other fields alone (a misspelt "payload"?) would be a silent drop.
      if (others > 0) throw new PayloadError('expected a "payload" array or a "resolved" timestamp');
      if (length !== undefined && length !== '0') throw new PayloadError(`length ${length} does not match the 0 messages in payload`);
      return { kind: 'empty' };
    }
    if (length !== undefined && length !== String(mutations.length)) {
      throw new PayloadError(`length ${length} does not match the ${mutations.length} message${mutations.length === 1 ? '' : 's'} in payload`);
    }
    return mutations.length === 0 ? { kind: 'empty' } : { kind: 'rows', mutations };
  } catch (err) {
    if (err instanceof JsonScanError) throw new PayloadError(`could not decode payload: ${err.message}`);
    throw err;
  }
}
