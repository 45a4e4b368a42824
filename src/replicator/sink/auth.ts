/**
 * Bearer-token authentication for the webhook: the accepted tokens live in a file (one per line,
 * blank lines and # comments ignored, a pasted "Bearer " prefix tolerated), re-read on SIGHUP. A request
 * carries its token as `Authorization: Bearer <token>` or, when it has no Authorization header at all,
 * as the `access_token` query parameter (which the caller strips from the URL before logging). Tokens
 * are compared in constant time and never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { Logger } from '../../lib/log.js';

export type AuthMode = 'disabled' | 'token-file';

const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

export function parseTokenFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.replace(/^Bearer\s+/i, ''));
}

export class TokenAuth {
  private digests: Buffer[] = [];

  /** `file` undefined means authentication is disabled. */
  constructor(
    private readonly file: string | undefined,
    private readonly log: Logger,
  ) {}

  get mode(): AuthMode {
    return this.file === undefined ? 'disabled' : 'token-file';
  }

  get tokenCount(): number {
    return this.digests.length;
  }

  /** Reads the token file; throws when it cannot be read (startup). Returns the number of tokens. */
  load(): number {
    if (this.file === undefined) return 0;
    const tokens = parseTokenFile(readFileSync(this.file, 'utf8'));
    this.digests = tokens.map(digest);
    try {
      if ((statSync(this.file).mode & 0o077) !== 0) this.log.warn({ file: this.file }, 'the token file is readable by other users; chmod 600 it');
    } catch {
      // stat after a successful read can only fail in a race; nothing to warn about
    }
    if (this.digests.length === 0) this.log.warn({ file: this.file }, 'the token file holds no tokens: every webhook request will get 401');
    return this.digests.length;
  }

  /** Re-reads the token file (SIGHUP); keeps the old tokens when it cannot be read. */
  reload(): void {
    if (this.file === undefined) return;
    try {
      const n = this.load();
      this.log.info({ file: this.file, tokens: n }, 'token file reloaded');
    } catch (err) {
      this.log.error({ file: this.file, err: (err as Error).message }, 'could not re-read the token file; keeping the previous tokens');
    }
  }

  /** The token a request presents ('' when none), per MOLT Replicator's rules. */
  static extract(authorization: string | undefined, query: URLSearchParams): string {
    if (authorization !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      return m ? (m[1] as string) : '';
    }
    return query.get('access_token') ?? '';
  }

  /** True when the token is accepted (always when disabled). Constant time in the token's content. */
  check(token: string): boolean {
    if (this.file === undefined) return true;
    if (token === '') return false;
    const d = digest(token);
    let ok = false;
    // Compare against every accepted token without stopping early.
    for (const a of this.digests) ok = timingSafeEqual(a, d) || ok;
    return ok;
  }
}
