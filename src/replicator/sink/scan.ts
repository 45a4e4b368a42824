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
/**
 * The scanner works on the UTF-8 bytes of a body instead of a decoded string. Decoding a 1 MiB body
 * into one JavaScript string would be needed otherwise, and V8 puts any string over
 * 128 KiB in large-object space, whose pages are mapped fresh for each allocation: measured 4 ms per
 * MiB here, a quarter of the whole parse, against 0.01 ms for the same bytes in a Buffer. Here only
 * the few strings the sink reads are decoded (topic, updated, resolved, and each message's key); row
 * images stay bytes (see RawText) until something needs their text.
 *
 * Precondition: the bytes are valid UTF-8 (the caller checks with isUtf8), so every byte >= 0x80 is
 * part of a well-formed character and only ASCII needs looking at.
 */
export class ByteJsonScanner {
  pos = 0;
  readonly length: number;

  constructor(readonly bytes: Uint8Array) {
    this.length = bytes.length;
  }

  fail(message: string, at = this.pos): never {
    throw new JsonScanError(message, at);
  }

  ws(): void {
    const b = this.bytes;
    let p = this.pos;
    for (;;) {
      const c = b[p];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  /** Byte at the current position after whitespace (NaN at the end, like charCodeAt). */
  peek(): number {
    this.ws();
    return this.pos < this.length ? (this.bytes[this.pos] as number) : NaN;
  }

  atEnd(): boolean {
    this.ws();
    return this.pos >= this.length;
  }

  /**
   * Skips one value, validating it; returns where it starts (it ends at `pos`). Allocation-free: this
   * runs for every value of every row image.
   */
  skip(depth = 0): number {
    this.ws();
    const start = this.pos;
    const c = this.pos < this.length ? (this.bytes[start] as number) : NaN;
    switch (c) {
      case 0x7b:
        if (depth >= MAX_DEPTH) this.fail('JSON nested too deeply');
        this.skipObject(depth);
        break;
      case 0x5b:
        if (depth >= MAX_DEPTH) this.fail('JSON nested too deeply');
        this.skipArray(depth);
        break;
      case 0x22:
        this.skipString();
        break;
      case 0x74:
        this.literal(TRUE);
        break;
      case 0x66:
        this.literal(FALSE);
        break;
      case 0x6e:
        this.literal(NULL);
        break;
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) this.skipNumber();
        else this.fail(Number.isNaN(c) ? 'unexpected end of JSON' : `unexpected character ${JSON.stringify(String.fromCharCode(c))}`);
    }
    return start;
  }

  /** Skips one value, validating it; returns its [start, end) byte span. */
  skipValue(depth = 0): { start: number; end: number } {
    const start = this.skip(depth);
    return { start, end: this.pos };
  }

  /** The object at `pos` (known to start with `{`), member names validated but not decoded. */
  private skipObject(depth: number): void {
    if (this.openEmpty(0x7d)) return;
    for (;;) {
      this.ws();
      if (this.bytes[this.pos] !== 0x22) this.fail('expected a string');
      this.skipString();
      if (this.peek() !== 0x3a) this.fail('expected :');
      this.pos++;
      this.skip(depth + 1);
      if (!this.more(0x7d)) return;
    }
  }

  /** Steps past the `{` or `[` at `pos`; true (and past `close` too) when the container is empty. */
  private openEmpty(close: number): boolean {
    this.pos++;
    if (this.peek() !== close) return false;
    this.pos++;
    return true;
  }

  /** After a member or item: true past a `,` (another follows), false past `close`; anything else fails. */
  private more(close: number): boolean {
    const c = this.peek();
    if (c !== 0x2c && c !== close) this.fail(close === 0x7d ? 'expected , or }' : 'expected , or ]');
    this.pos++;
    return c === 0x2c;
  }

  /** The array at `pos` (known to start with `[`). */
  private skipArray(depth: number): void {
    if (this.openEmpty(0x5d)) return;
    for (;;) {
      this.skip(depth + 1);
      if (!this.more(0x5d)) return;
    }
  }

  private literal(word: readonly number[]): void {
    const b = this.bytes;
    const p = this.pos;
    for (let i = 0; i < word.length; i++) if (b[p + i] !== word[i]) this.fail('invalid literal');
    this.pos = p + word.length;
  }

  /** Skips a number (RFC 8259 grammar); returns where it starts (it ends at `pos`). */
  skipNumber(): number {
    const b = this.bytes;
    const start = this.pos;
    let p = start;
    if (b[p] === 0x2d) p++;
    if (b[p] === 0x30) p++;
    else if ((p = this.digits(p)) === -1) this.fail('invalid number', start);
    // Like the string scanner's regex: the number is the longest valid prefix, so "1." is the number 1
    // followed by an unexpected "." (reported by the caller).
    if (b[p] === 0x2e) {
      const q = this.digits(p + 1);
      if (q !== -1) p = q;
    }
    if (b[p] === 0x65 || b[p] === 0x45) {
      const sign = b[p + 1] === 0x2b || b[p + 1] === 0x2d ? 1 : 0;
      const q = this.digits(p + 1 + sign);
      if (q !== -1) p = q;
    }
    this.pos = p;
    return start;
  }

  /** The position after a run of at least one digit starting at p, or -1 when there is none. */
  private digits(p: number): number {
    const b = this.bytes;
    const from = p;
    while (p < this.length && (b[p] as number) >= 0x30 && (b[p] as number) <= 0x39) p++;
    return p === from ? -1 : p;
  }

  /** The number's text (ASCII). */
  number(): string {
    const start = this.skipNumber();
    return latin1(this.bytes, start, this.pos);
  }

  /** Skips a string at the current position (a quote); returns true if it had escapes. */
  skipString(): boolean {
    const b = this.bytes;
    const n = this.length;
    let p = this.pos + 1;
    let escaped = false;
    for (;;) {
      if (p >= n) this.fail('unterminated string', n);
      const c = b[p] as number;
      if (c === 0x22) {
        this.pos = p + 1;
        return escaped;
      }
      if (c === 0x5c) {
        escaped = true;
        const e = b[p + 1];
        // " \ / b f n r t
        if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          p += 2;
          continue;
        }
        if (e === 0x75 && isHex(b[p + 2]) && isHex(b[p + 3]) && isHex(b[p + 4]) && isHex(b[p + 5])) {
          p += 6;
          continue;
        }
        this.fail('invalid escape in string', p);
      }
      if (c < 0x20) this.fail('control character in string', p);
      p++;
    }
  }

  /** Reads and decodes a string value at the current position. */
  readString(): string {
    this.ws();
    if (this.bytes[this.pos] !== 0x22) this.fail('expected a string');
    const start = this.pos;
    const escaped = this.skipString();
    return escaped ? (JSON.parse(utf8(this.bytes, start, this.pos)) as string) : utf8(this.bytes, start + 1, this.pos - 1);
  }

  /** True when the string at [start, end) (quotes included, no escapes) equals `name` (ASCII). */
  private static nameIs(b: Uint8Array, start: number, end: number, name: string): boolean {
    if (end - start !== name.length + 2) return false;
    for (let i = 0; i < name.length; i++) if (b[start + 1 + i] !== name.charCodeAt(i)) return false;
    return true;
  }

  /**
   * Iterates an object at the current position: `fn(key)` must consume the member's value. With
   * `names`, member names that are one of them (written without escapes) are passed as that constant
   * string without decoding; any other name is decoded.
   */
  forEachMember(fn: (key: string) => void, names?: readonly string[]): void {
    this.ws();
    if (this.bytes[this.pos] !== 0x7b) this.fail('expected a JSON object');
    if (this.openEmpty(0x7d)) return;
    for (;;) {
      this.ws();
      if (this.bytes[this.pos] !== 0x22) this.fail('expected a string');
      const start = this.pos;
      const escaped = this.skipString();
      let key: string | undefined;
      if (names && !escaped) {
        for (const name of names) {
          if (ByteJsonScanner.nameIs(this.bytes, start, this.pos, name)) {
            key = name;
            break;
          }
        }
      }
      key ??= escaped ? (JSON.parse(utf8(this.bytes, start, this.pos)) as string) : utf8(this.bytes, start + 1, this.pos - 1);
      if (this.peek() !== 0x3a) this.fail('expected :');
      this.pos++;
      fn(key);
      if (!this.more(0x7d)) return;
    }
  }

  /** Iterates an array at the current position: `fn(index)` must consume each item. */
  forEachItem(fn: (index: number) => void): void {
    this.ws();
    if (this.bytes[this.pos] !== 0x5b) this.fail('expected a JSON array');
    if (this.openEmpty(0x5d)) return;
    for (let i = 0; ; i++) {
      fn(i);
      if (!this.more(0x5d)) return;
    }
  }
}

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

const isHex = (c: number | undefined): boolean => c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));

const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** UTF-8 text of bytes [start, end). */
export const utf8 = (b: Uint8Array, start: number, end: number): string => asBuffer(b).toString('utf8', start, end);
const latin1 = (b: Uint8Array, start: number, end: number): string => asBuffer(b).toString('latin1', start, end);
