/**
 * Parses a CockroachDB webhook body: `{"payload":[...],"length":N}` (wrapped envelope, format=json) or
 * `{"resolved":"<hlc>"}`. Lenient on shape (fields CockroachDB may add, such as mvcc_timestamp, are
 * accepted and ignored, unlike MOLT Replicator which rejects them), strict on what the engine needs:
 * every error names the message index and the field, and nothing is returned half-parsed.
 * key/after/before are kept as the exact source text.
 */
import { parseHlc, type Hlc } from '../../lib/hlc.js';
import type { Mutation } from '../types.js';
import { JsonScanError, JsonScanner } from './scan.js';

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

interface MessageFields {
  topic?: string;
  updated?: string;
  key?: { start: number; end: number };
  after?: { start: number; end: number };
  before?: { start: number; end: number };
  /** First char code of each raw value, for type checks. */
  keyType?: number;
  afterType?: number;
  beforeType?: number;
}

const OBJ = 0x7b;
const ARR = 0x5b;
const NUL = 0x6e;
const STR = 0x22;

/**
 * Parses one message. The message is always consumed completely (syntax errors throw JsonScanError);
 * field problems are returned, so the caller can keep scanning and report the first one afterwards.
 */
function parseMessage(s: JsonScanner, index: number): Mutation | PayloadError {
  const where = `payload[${index}]`;
  const f: MessageFields = {};
  let problem: string | undefined;
  if (s.peek() !== OBJ) {
    s.skipValue();
    return new PayloadError(`${where}: each message must be a JSON object`);
  }
  s.forEachMember((name) => {
    switch (name) {
      case 'topic':
      case 'updated': {
        const c = s.peek();
        if (c === STR) f[name] = s.readString();
        else {
          s.skipValue();
          if (c !== NUL) problem ??= `${where}: "${name}" must be a string`;
        }
        return;
      }
      case 'key':
      case 'after':
      case 'before': {
        const c = s.peek();
        f[name] = s.skipValue();
        f[`${name}Type`] = c;
        return;
      }
      default:
        // mvcc_timestamp and anything else CockroachDB adds: accepted and ignored.
        s.skipValue();
    }
  });
  if (problem) return new PayloadError(problem);
  try {
    return checkMessage(s.text, f, where);
  } catch (err) {
    if (err instanceof PayloadError) return err;
    throw err;
  }
}

function checkMessage(text: string, f: MessageFields, where: string): Mutation {
  if (f.topic === undefined || f.topic === '') throw new PayloadError('table name is empty, please ensure the table name is included in the path');
  const table = topicTable(f.topic);
  if (table === '') throw new PayloadError('table name is empty, please ensure the table name is included in the path');
  if (f.updated === undefined || f.updated === '') throw new PayloadError(`${where}: "updated" is missing: create the changefeed WITH updated`);
  const hlc = hlcField(f.updated, `${where}: "updated"`);
  if (!f.key) throw new PayloadError(`${where}: "key" is missing: the changefeed must use envelope=wrapped (the webhook default)`);
  if (f.keyType !== ARR) throw new PayloadError(`${where}: "key" must be a JSON array`);
  const key = text.slice(f.key.start, f.key.end);
  if (/^\[\s*\]$/.test(key)) throw new PayloadError(`${where}: "key" must not be empty`);
  if (!f.after) throw new PayloadError(`${where}: "after" is missing: the changefeed must use envelope=wrapped`);
  if (f.afterType !== OBJ && f.afterType !== NUL) throw new PayloadError(`${where}: "after" must be a JSON object or null`);
  const after = f.afterType === NUL ? null : text.slice(f.after.start, f.after.end);
  let before: string | null | undefined;
  if (f.before) {
    if (f.beforeType !== OBJ && f.beforeType !== NUL) throw new PayloadError(`${where}: "before" must be a JSON object or null`);
    before = f.beforeType === NUL ? null : text.slice(f.before.start, f.before.end);
  }
  return before === undefined ? { table, hlc, key, after } : { table, hlc, key, after, before };
}

/** Parses a webhook body (already decoded to text). Throws PayloadError with the 400 reason. */
export function parseWebhookBody(text: string): ParsedBody {
  const s = new JsonScanner(text);
  if (s.atEnd()) return { kind: 'empty' };
  try {
    if (s.peek() !== OBJ) throw new PayloadError('could not decode payload: the body must be a JSON object');
    let resolved: string | undefined;
    let length: string | undefined;
    let mutations: Mutation[] | undefined;
    let firstProblem: PayloadError | undefined;
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
          s.forEachItem((i) => {
            const m = parseMessage(s, i);
            if (m instanceof PayloadError) firstProblem ??= m;
            else list.push(m);
          });
          mutations = list;
        }
      } else {
        s.skipValue();
      }
    });
    if (!s.atEnd()) s.fail('unexpected trailing characters');
    if (resolved !== undefined && resolved !== '') return { kind: 'resolved', hlc: hlcField(resolved, 'resolved') };
    if (firstProblem) throw firstProblem;
    if (mutations === undefined) {
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
