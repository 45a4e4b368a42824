/**
 * A PostgreSQL-compatible tokenizer, just precise enough to find statement boundaries and the
 * CockroachDB-specific constructs the rewriter replaces, without ever looking inside string
 * literals, dollar quotes, quoted identifiers or comments. Tokens keep their source offsets so
 * rewrites splice the original text and leave everything else byte-for-byte intact.
 */

export type TokenType = 'ws' | 'comment' | 'string' | 'dollar' | 'qident' | 'ident' | 'number' | 'param' | 'op' | 'punct';

export interface Token {
  type: TokenType;
  text: string;
  start: number;
  end: number;
  /** Upper-cased text for unquoted identifiers (keywords compare against this). */
  upper: string;
}

const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const OP_CHARS = '+-*/<>=~!@#%^&|`?';
const PUNCT = '()[],;.:';

export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  const n = sql.length;
  let i = 0;
  const push = (type: TokenType, start: number, end: number) => {
    const text = sql.slice(start, end);
    out.push({ type, text, start, end, upper: type === 'ident' ? text.toUpperCase() : text });
  };
  while (i < n) {
    const c = sql[i] as string;
    const start = i;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') {
      while (i < n && /\s/.test(sql[i] as string)) i++;
      push('ws', start, i);
      continue;
    }
    if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++;
      push('comment', start, i);
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      // PostgreSQL block comments nest.
      let depth = 0;
      while (i < n) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
          if (depth === 0) break;
        } else i++;
      }
      push('comment', start, i);
      continue;
    }
    // String constants: '...', E'...', B'...', X'...', N'...', U&'...'.
    const prefixed = /^(?:[EeBbXxNn]|[Uu]&)'/.exec(sql.slice(i, i + 3));
    if (c === "'" || prefixed) {
      const escapes = prefixed !== null && (c === 'E' || c === 'e');
      i += prefixed ? prefixed[0].length : 1;
      while (i < n) {
        const ch = sql[i];
        if (escapes && ch === '\\') {
          i += 2;
          continue;
        }
        if (ch === "'") {
          if (sql[i + 1] === "'") {
            i += 2;
            continue;
          }
          i++;
          break;
        }
        i++;
      }
      push('string', start, i);
      continue;
    }
    if (c === '"') {
      i++;
      while (i < n) {
        if (sql[i] === '"') {
          if (sql[i + 1] === '"') {
            i += 2;
            continue;
          }
          i++;
          break;
        }
        i++;
      }
      push('qident', start, i);
      continue;
    }
    if (c === '$') {
      const param = /^\$\d+/.exec(sql.slice(i, i + 12));
      if (param) {
        i += param[0].length;
        push('param', start, i);
        continue;
      }
      const tag = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(sql.slice(i, i + 130));
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        i = close < 0 ? n : close + tag[0].length;
        push('dollar', start, i);
        continue;
      }
    }
    if (IDENT_START.test(c)) {
      i++;
      while (i < n && IDENT_PART.test(sql[i] as string)) i++;
      push('ident', start, i);
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      const m = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(sql.slice(i, i + 200)) as RegExpExecArray;
      i += m[0].length;
      push('number', start, i);
      continue;
    }
    if (c === ':' && sql[i + 1] === ':') {
      i += 2;
      push('op', start, i);
      continue;
    }
    if (PUNCT.includes(c)) {
      i++;
      push('punct', start, i);
      continue;
    }
    if (OP_CHARS.includes(c)) {
      // An operator runs until a character that is not an operator char or starts a comment.
      i++;
      while (i < n && OP_CHARS.includes(sql[i] as string) && !(sql[i] === '-' && sql[i + 1] === '-') && !(sql[i] === '/' && sql[i + 1] === '*')) i++;
      push('op', start, i);
      continue;
    }
    i++;
    push('op', start, i);
  }
  return out;
}

/** Tokens that carry meaning (no whitespace, no comments). */
export const significant = (tokens: readonly Token[]): Token[] => tokens.filter((t) => t.type !== 'ws' && t.type !== 'comment');

/** The value of a string literal token ('it''s' -> it's; E'a\nb' decoded). */
export function stringValue(tok: Token): string {
  const t = tok.text;
  if (/^[Ee]'/.test(t)) {
    const body = t.slice(2, -1).replace(/''/g, "'");
    return body.replace(/\\(x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|[0-7]{1,3}|.)/gs, (_, e: string) => {
      switch (e[0]) {
        case 'n':
          return '\n';
        case 't':
          return '\t';
        case 'r':
          return '\r';
        case 'b':
          return '\b';
        case 'f':
          return '\f';
        case 'x':
          return String.fromCharCode(parseInt(e.slice(1), 16));
        case 'u':
        case 'U':
          return String.fromCodePoint(parseInt(e.slice(1), 16));
        default:
          return /^[0-7]+$/.test(e) ? String.fromCharCode(parseInt(e, 8)) : e;
      }
    });
  }
  if (tok.type === 'dollar') {
    const tag = /^\$[^$]*\$/.exec(t) as RegExpExecArray;
    return t.slice(tag[0].length, t.length - tag[0].length);
  }
  return t.slice(t.indexOf("'") + 1, -1).replace(/''/g, "'");
}

/** The name an identifier token denotes: quoted keeps case, unquoted folds to lower case. */
export const identValue = (tok: Token): string => (tok.type === 'qident' ? tok.text.slice(1, -1).replace(/""/g, '"') : tok.text.toLowerCase());
