/**
 * JSON without number loss. PostgreSQL's jsonb text keeps INT8 and DECIMAL values exact, but
 * JSON.parse would round anything above 2^53; this parser keeps every number as its source text.
 * The serializer writes JSON the way CockroachDB's changefeed encoder does: compact, object keys
 * sorted by their UTF-8 bytes, and Go's string escaping (`<`, `>`, `&`, U+2028/9 as \u escapes).
 */

export class RawNumber {
  constructor(readonly text: string) {}
}

export type RawJson = null | boolean | string | RawNumber | RawJson[] | RawObject;
export class RawObject {
  constructor(readonly entries: Array<[string, RawJson]>) {}
  get(key: string): RawJson | undefined {
    for (const [k, v] of this.entries) if (k === key) return v;
    return undefined;
  }
}

export class RawJsonError extends Error {}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Parses JSON text; numbers stay RawNumber, objects keep their entries in source order. */
export function parseRawJson(text: string): RawJson {
  let i = 0;
  const n = text.length;
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const fail = (what: string): never => {
    throw new RawJsonError(`invalid JSON at offset ${i}: ${what}`);
  };
  const str = (): string => {
    // Fast path via JSON.parse of the string token (strings never lose precision).
    const start = i;
    i++;
    while (i < n) {
      const c = text[i];
      if (c === '\\') i += 2;
      else if (c === '"') break;
      else i++;
    }
    if (i >= n) fail('unterminated string');
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): RawJson => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: Array<[string, RawJson]> = [];
      ws();
      if (text[i] === '}') {
        i++;
        return new RawObject(entries);
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected object key');
        const k = str();
        ws();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        entries.push([k, value()]);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return new RawObject(entries);
        }
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const items: RawJson[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return items;
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return items;
        }
        fail('expected "," or "]"');
      }
    }
    if (c === '"') return str();
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) return fail('unexpected character');
    i += m[0].length;
    return new RawNumber(m[0]);
  };
  const v = value();
  ws();
  if (i !== n) fail('trailing characters');
  return v;
}

const GO_ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };

/** Go's encoding/json string escaping (HTML-safe). */
export function goQuote(s: string): string {
  // eslint-disable-next-line no-control-regex
  return `"${s.replace(/["\\\n\r\t<>&\u2028\u2029\u0000-\u001f]/g, (ch) => GO_ESCAPES[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** Compact serialization with keys sorted by UTF-8 bytes (CockroachDB's JSONB order). */
export function stringifyRawJson(v: RawJson, sortKeys = true): string {
  if (v === null) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'string') return goQuote(v);
  if (v instanceof RawNumber) return v.text;
  if (Array.isArray(v)) return `[${v.map((x) => stringifyRawJson(x, sortKeys)).join(',')}]`;
  const entries = sortKeys ? [...v.entries].sort((a, b) => byteOrder(a[0], b[0])) : v.entries;
  return `{${entries.map(([k, x]) => `${goQuote(k)}:${stringifyRawJson(x, sortKeys)}`).join(',')}}`;
}

/** Re-encodes JSON text (e.g. jsonb output) compactly, sorted, Go-escaped, numbers untouched. */
export const normalizeJsonText = (text: string): string => stringifyRawJson(parseRawJson(text));

/**
 * Converts raw JSON into plain JS values for tests and assertions: numbers become `bigint` when they
 * are integers, and stay strings (their exact text) when they have a fraction or exponent.
 */
export function rawToPlain(v: RawJson): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (v instanceof RawNumber) return /^-?\d+$/.test(v.text) ? BigInt(v.text) : v.text;
  if (Array.isArray(v)) return v.map(rawToPlain);
  const o: Record<string, unknown> = {};
  for (const [k, x] of v.entries) o[k] = rawToPlain(x);
  return o;
}
