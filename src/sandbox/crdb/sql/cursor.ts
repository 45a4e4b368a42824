/**
 * A read cursor over the significant tokens of one statement, with the few combinators the
 * CockroachDB statement parsers need (keywords, dotted names, literal values, balanced groups).
 * Parse failures throw SqlSyntaxError, which the rewriter turns into a PostgreSQL syntax error.
 */
import { identValue, stringValue, type Token } from './lexer.js';

export class SqlSyntaxError extends Error {}

export interface NamePart {
  value: string;
  text: string;
}

export type ValueToken =
  | { kind: 'string'; value: string; text: string }
  | { kind: 'number'; value: string; text: string }
  | { kind: 'word'; value: string; text: string }
  | { kind: 'param'; index: number; text: string };

export class TokenCursor {
  i = 0;
  constructor(
    readonly toks: Token[],
    readonly sql: string,
  ) {}

  peek(offset = 0): Token | undefined {
    return this.toks[this.i + offset];
  }
  get done(): boolean {
    return this.i >= this.toks.length;
  }
  next(): Token {
    const t = this.toks[this.i];
    if (!t) throw new SqlSyntaxError('at or near "EOF": syntax error');
    this.i++;
    return t;
  }
  isWord(...words: string[]): boolean {
    const t = this.peek();
    return t !== undefined && t.type === 'ident' && words.includes(t.upper);
  }
  acceptWord(...words: string[]): string | undefined {
    if (!this.isWord(...words)) return undefined;
    return this.next().upper;
  }
  expectWord(...words: string[]): string {
    const w = this.acceptWord(...words);
    if (w === undefined) throw this.error();
    return w;
  }
  isPunct(p: string): boolean {
    const t = this.peek();
    return t !== undefined && (t.type === 'punct' || t.type === 'op') && t.text === p;
  }
  acceptPunct(p: string): boolean {
    if (!this.isPunct(p)) return false;
    this.i++;
    return true;
  }
  expectPunct(p: string): void {
    if (!this.acceptPunct(p)) throw this.error();
  }
  error(): SqlSyntaxError {
    const t = this.peek();
    return new SqlSyntaxError(`at or near "${t ? t.text.toLowerCase() : 'EOF'}": syntax error`);
  }
  expectEnd(): void {
    if (!this.done) throw this.error();
  }

  /** name [. name]* (identifiers or quoted identifiers). */
  dottedName(): NamePart[] {
    const parts: NamePart[] = [];
    for (;;) {
      const t = this.next();
      if (t.type !== 'ident' && t.type !== 'qident') {
        this.i--;
        throw this.error();
      }
      parts.push({ value: identValue(t), text: t.text });
      if (!this.acceptPunct('.')) return parts;
    }
  }

  /** A literal-ish value: string, number, bare word, or placeholder. */
  value(): ValueToken {
    const t = this.next();
    if (t.type === 'string' || t.type === 'dollar') return { kind: 'string', value: stringValue(t), text: t.text };
    if (t.type === 'number') return { kind: 'number', value: t.text, text: t.text };
    if (t.type === 'param') return { kind: 'param', index: Number(t.text.slice(1)), text: t.text };
    if (t.type === 'ident') return { kind: 'word', value: t.text.toLowerCase(), text: t.text };
    if (t.type === 'op' && t.text === '-' && this.peek()?.type === 'number') {
      const n = this.next();
      return { kind: 'number', value: `-${n.text}`, text: `-${n.text}` };
    }
    this.i--;
    throw this.error();
  }

  /** Source text from token index `from` (inclusive) to the current position. */
  textFrom(from: number): string {
    const a = this.toks[from];
    const b = this.toks[this.i - 1];
    if (!a || !b || this.i <= from) return '';
    return this.sql.slice(a.start, b.end);
  }

  /** Source text of all remaining tokens; consumes them. */
  rest(): string {
    const from = this.i;
    this.i = this.toks.length;
    return this.textFrom(from);
  }
}
