/**
 * Splits a simple-query string into statements the way PostgreSQL's parser does: at top-level
 * semicolons, never inside literals, comments or dollar quotes, and not inside the body of a
 * `BEGIN ATOMIC ... END` SQL-standard function. Empty statements (only whitespace or comments) are
 * dropped, as PostgreSQL ignores them too.
 */
import { tokenize, type Token } from './lexer.js';

export interface Statement {
  /** Source text of the statement (leading/trailing whitespace included), without the semicolon. */
  text: string;
  start: number;
  end: number;
  tokens: Token[];
}

export function splitStatements(sql: string): Statement[] {
  const tokens = tokenize(sql);
  const out: Statement[] = [];
  let cur: Token[] = [];
  let atomicDepth = 0;
  let prevSig: Token | undefined;
  const flush = () => {
    const sig = cur.filter((t) => t.type !== 'ws' && t.type !== 'comment');
    if (sig.length > 0) {
      const first = cur[0] as Token;
      const last = cur[cur.length - 1] as Token;
      // Tokens are rebased so their offsets index into the statement's own text.
      const base = first.start;
      const tokens = cur.map((t) => ({ ...t, start: t.start - base, end: t.end - base }));
      out.push({ text: sql.slice(first.start, last.end), start: first.start, end: last.end, tokens });
    }
    cur = [];
  };
  for (const t of tokens) {
    if (t.type === 'punct' && t.text === ';' && atomicDepth === 0) {
      flush();
      prevSig = undefined;
      continue;
    }
    if (t.type === 'ident') {
      if (t.upper === 'ATOMIC' && prevSig?.type === 'ident' && prevSig.upper === 'BEGIN') atomicDepth++;
      else if (atomicDepth > 0 && t.upper === 'CASE') atomicDepth++;
      else if (atomicDepth > 0 && t.upper === 'END') atomicDepth--;
    }
    cur.push(t);
    if (t.type !== 'ws' && t.type !== 'comment') prevSig = t;
  }
  flush();
  return out;
}
