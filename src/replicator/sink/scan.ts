/**
 * A validating JSON scanner for webhook bodies. It walks the text once, checks full RFC 8259 syntax, and
 * hands back source offsets instead of building values, so row images (`after`, `before`, `key`) can be
 * staged as their exact raw text: numbers are never converted (INT8 above 2^53 and DECIMALs survive) and
 * no time is spent materialising objects the sink does not look at. Only the few strings the sink needs
 * (topic, updated, resolved) are decoded.
 */

export class JsonScanError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
    this.name = 'JsonScanError';
  }
}

const MAX_DEPTH = 512;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be found
const SPECIAL = /[\u0000-\u001f\\]/;

export class JsonScanner {
  pos = 0;
  constructor(readonly text: string) {}

  fail(message: string, at = this.pos): never {
    throw new JsonScanError(message, at);
  }

  ws(): void {
    const t = this.text;
    let p = this.pos;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  /** Char code at the current position after whitespace (NaN at the end). */
  peek(): number {
    this.ws();
    return this.text.charCodeAt(this.pos);
  }

  atEnd(): boolean {
    this.ws();
    return this.pos >= this.text.length;
  }

  /** Skips one value, validating it; returns its [start, end) span. */
  skipValue(depth = 0): { start: number; end: number } {
    this.ws();
    const start = this.pos;
    const c = this.text.charCodeAt(start);
    switch (c) {
      case 0x7b: // {
        if (depth >= MAX_DEPTH) this.fail('JSON nested too deeply');
        this.forEachMember(() => {
          this.skipValue(depth + 1);
        });
        break;
      case 0x5b: // [
        if (depth >= MAX_DEPTH) this.fail('JSON nested too deeply');
        this.forEachItem(() => {
          this.skipValue(depth + 1);
        });
        break;
      case 0x22: // "
        this.skipString();
        break;
      case 0x74: // t
        this.literal('true');
        break;
      case 0x66: // f
        this.literal('false');
        break;
      case 0x6e: // n
        this.literal('null');
        break;
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) this.number();
        else this.fail(Number.isNaN(c) ? 'unexpected end of JSON' : `unexpected character ${JSON.stringify(this.text[start])}`);
    }
    return { start, end: this.pos };
  }

  private literal(word: string): void {
    if (!this.text.startsWith(word, this.pos)) this.fail('invalid literal');
    this.pos += word.length;
  }

  /** Returns the number's text. */
  number(): string {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (!m) this.fail('invalid number');
    this.pos += m[0].length;
    return m[0];
  }

  /** Skips a string starting at the current position (which must be a quote); returns true if it had escapes. */
  skipString(): boolean {
    const t = this.text;
    let p = this.pos + 1;
    let escaped = false;
    for (;;) {
      // Jump to the next quote and check the run before it in one native regex test: most strings have
      // no escapes, and a char-by-char loop in JS is several times slower on megabyte bodies.
      const q = t.indexOf('"', p);
      if (q < 0) this.fail('unterminated string', t.length);
      if (!SPECIAL.test(t.slice(p, q))) {
        this.pos = q + 1;
        return escaped;
      }
      // Something special before that quote: walk it.
      for (;;) {
        const c = t.charCodeAt(p);
        if (c === 0x22) {
          this.pos = p + 1;
          return escaped;
        }
        if (c === 0x5c) {
          escaped = true;
          const e = t.charCodeAt(p + 1);
          // " \ / b f n r t
          if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
            p += 2;
            if (p > q) break; // an escaped quote: the next real quote is further on
            continue;
          }
          if (e === 0x75 && /^[0-9a-fA-F]{4}$/.test(t.slice(p + 2, p + 6))) {
            p += 6;
            if (p > q) break;
            continue;
          }
          this.fail('invalid escape in string', p);
        }
        if (Number.isNaN(c)) this.fail('unterminated string', p);
        if (c < 0x20) this.fail('control character in string', p);
        p++;
      }
    }
  }

  /** Reads and decodes a string value at the current position. */
  readString(): string {
    this.ws();
    if (this.text.charCodeAt(this.pos) !== 0x22) this.fail('expected a string');
    const start = this.pos;
    const escaped = this.skipString();
    // JSON.parse of a validated string literal is exact; without escapes a slice is enough.
    return escaped ? (JSON.parse(this.text.slice(start, this.pos)) as string) : this.text.slice(start + 1, this.pos - 1);
  }

  /**
   * Iterates an object at the current position: `fn(key)` must consume the member's value. Duplicate
   * keys are passed through in order (the caller keeps the last, like JSON.parse).
   */
  forEachMember(fn: (key: string) => void): void {
    this.ws();
    if (this.text.charCodeAt(this.pos) !== 0x7b) this.fail('expected a JSON object');
    this.pos++;
    if (this.peek() === 0x7d) {
      this.pos++;
      return;
    }
    for (;;) {
      const key = this.readString();
      if (this.peek() !== 0x3a) this.fail('expected :');
      this.pos++;
      fn(key);
      const c = this.peek();
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x7d) {
        this.pos++;
        return;
      }
      this.fail('expected , or }');
    }
  }

  /** Iterates an array at the current position: `fn(index)` must consume each item. */
  forEachItem(fn: (index: number) => void): void {
    this.ws();
    if (this.text.charCodeAt(this.pos) !== 0x5b) this.fail('expected a JSON array');
    this.pos++;
    if (this.peek() === 0x5d) {
      this.pos++;
      return;
    }
    for (let i = 0; ; i++) {
      fn(i);
      const c = this.peek();
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x5d) {
        this.pos++;
        return;
      }
      this.fail('expected , or ]');
    }
  }
}
