/**
 * A JSON parser that never rounds: numbers are kept as their decimal text (JsonNumber), so INT8 values
 * above 2^53 and DECIMALs survive. Strict RFC 8259 syntax; errors name the offset. (The webhook sink
 * finds the raw text of row images with its own scanner, replicator/sink/scan.ts.)
 */

export class JsonNumber {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
  toJSON(): string {
    return this.text;
  }
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
    this.name = 'JsonSyntaxError';
  }
}

class Parser {
  pos = 0;
  constructor(readonly text: string) {}

  fail(message: string): never {
    throw new JsonSyntaxError(message, this.pos);
  }

  ws(): void {
    const t = this.text;
    let p = this.pos;
    while (p < t.length) {
      const c = t.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  value(): JsonValue {
    this.ws();
    const c = this.text[this.pos];
    switch (c) {
      case '{':
        return this.object();
      case '[':
        return this.array();
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
        return this.fail(c === undefined ? 'unexpected end of JSON' : `unexpected character ${JSON.stringify(c)}`);
    }
  }

  literal<T>(word: string, v: T): T {
    if (this.text.startsWith(word, this.pos)) {
      this.pos += word.length;
      return v;
    }
    return this.fail(`invalid literal`);
  }

  number(): JsonNumber {
    // Scanned by hand (RFC 8259 grammar, longest valid prefix, as the regex below would): a regex match
    // allocates a result array per number, and row images are mostly numbers.
    const t = this.text;
    const start = this.pos;
    let p = start;
    if (t.charCodeAt(p) === 0x2d) p++;
    if (t.charCodeAt(p) === 0x30) p++;
    else {
      const q = this.digits(p);
      if (q === p) this.fail('invalid number');
      p = q;
    }
    if (t.charCodeAt(p) === 0x2e) {
      const q = this.digits(p + 1);
      if (q > p + 1) p = q;
    }
    const e = t.charCodeAt(p);
    if (e === 0x65 || e === 0x45) {
      const sign = t.charCodeAt(p + 1) === 0x2b || t.charCodeAt(p + 1) === 0x2d ? 1 : 0;
      const q = this.digits(p + 1 + sign);
      if (q > p + 1 + sign) p = q;
    }
    this.pos = p;
    return new JsonNumber(t.slice(start, p));
  }

  /** The position after the run of digits starting at q (q itself when there is none). */
  private digits(q: number): number {
    const t = this.text;
    while (q < t.length) {
      const c = t.charCodeAt(q);
      if (c < 0x30 || c > 0x39) break;
      q++;
    }
    return q;
  }

  string(): string {
    const t = this.text;
    let p = this.pos + 1;
    // Most strings have no escape or control character: one slice, no per-character concatenation.
    for (let q = p; q < t.length; q++) {
      const c = t.charCodeAt(q);
      if (c === 0x22) {
        this.pos = q + 1;
        return t.slice(p, q);
      }
      if (c === 0x5c || c < 0x20) break;
    }
    let out = '';
    let chunkStart = p;
    for (;;) {
      if (p >= t.length) {
        this.pos = p;
        this.fail('unterminated string');
      }
      const c = t.charCodeAt(p);
      if (c === 0x22) {
        out += t.slice(chunkStart, p);
        this.pos = p + 1;
        return out;
      }
      if (c === 0x5c) {
        out += t.slice(chunkStart, p);
        const e = t[p + 1];
        switch (e) {
          case '"':
            out += '"';
            break;
          case '\\':
            out += '\\';
            break;
          case '/':
            out += '/';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u': {
            const hex = t.slice(p + 2, p + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
              this.pos = p;
              this.fail('invalid unicode escape');
            }
            out += String.fromCharCode(parseInt(hex, 16));
            p += 4;
            break;
          }
          default:
            this.pos = p;
            this.fail('invalid escape');
        }
        p += 2;
        chunkStart = p;
        continue;
      }
      if (c < 0x20) {
        this.pos = p;
        this.fail('control character in string');
      }
      p++;
    }
  }

  array(): JsonValue[] {
    this.pos++;
    const out: JsonValue[] = [];
    this.ws();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.ws();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === ']') {
        this.pos++;
        return out;
      }
      this.fail('expected , or ]');
    }
  }

  object(): JsonObject {
    this.pos++;
    const out: JsonObject = {};
    this.ws();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.text[this.pos] !== '"') this.fail('expected a string key');
      const key = this.string();
      this.ws();
      if (this.text[this.pos] !== ':') this.fail('expected :');
      this.pos++;
      // Object.defineProperty avoids the __proto__ setter turning a key into a prototype change; every
      // other key takes a plain assignment, which keeps V8's fast object shapes (defineProperty on each
      // key made parsing row images several times slower).
      if (key === '__proto__') Object.defineProperty(out, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
      else out[key] = this.value();
      this.ws();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === '}') {
        this.pos++;
        return out;
      }
      this.fail('expected , or }');
    }
  }

  end(): void {
    this.ws();
    if (this.pos !== this.text.length) this.fail('unexpected trailing characters');
  }
}

/**
 * Parses a JSON object text member by member: `fn(key, value)` for each top-level member in order
 * (values exact, as parseExactJson gives them), without building the object. Returns false, having
 * called nothing, when the text is valid JSON but not an object; throws JsonSyntaxError when it is not
 * valid JSON (members before the error may have been passed already).
 */
export function forEachMemberExact(text: string, fn: (key: string, value: JsonValue) => void): boolean {
  const p = new Parser(text);
  p.ws();
  if (p.text[p.pos] !== '{') {
    p.value();
    p.end();
    return false;
  }
  p.pos++;
  p.ws();
  if (p.text[p.pos] === '}') {
    p.pos++;
    p.end();
    return true;
  }
  for (;;) {
    p.ws();
    if (p.text[p.pos] !== '"') p.fail('expected a string key');
    const key = p.string();
    p.ws();
    if (p.text[p.pos] !== ':') p.fail('expected :');
    p.pos++;
    fn(key, p.value());
    p.ws();
    const c = p.text[p.pos];
    if (c === ',') {
      p.pos++;
      continue;
    }
    if (c === '}') {
      p.pos++;
      p.end();
      return true;
    }
    p.fail('expected , or }');
  }
}

/** Parses JSON text keeping every number exact. */
export function parseExactJson(text: string): JsonValue {
  const p = new Parser(text);
  const v = p.value();
  p.end();
  return v;
}

/** Serialises a JsonValue back to compact JSON, numbers verbatim. */
export function stringifyExact(v: JsonValue): string {
  if (v === null) return 'null';
  if (v instanceof JsonNumber) return v.text;
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stringifyExact).join(',')}]`;
  return `{${Object.entries(v)
    .map(([k, x]) => `${JSON.stringify(k)}:${stringifyExact(x)}`)
    .join(',')}}`;
}
