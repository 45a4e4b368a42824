/**
 * SQL text handling for the emulator: a PostgreSQL-compatible tokenizer, a statement splitter that
 * respects quotes, dollar quotes and comments, parsers for the CockroachDB statements the emulator
 * answers, and the rewriter that maps each client statement to backend SQL plus the reply shaping
 * it needs. Pure functions; it never executes anything.
 */
export { tokenize, significant, stringValue, identValue, type Token } from './lexer.js';
export { splitStatements, type Statement } from './split.js';
export { rewriteStatement, rewriteInline, errorSql, type Rewrite, type RewriteContext, type Shape } from './rewrite.js';
export { lit, ident } from './literals.js';
