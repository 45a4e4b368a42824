/**
 * A re-entrant, owner-based lock in front of a backend that is ONE PostgreSQL session shared by all
 * connections (embedded PGlite). PGlite's socket multiplexer only keeps whole transactions apart;
 * an extended-protocol batch (Parse/Bind/Execute/Sync) from one client could otherwise interleave
 * with another client's messages and clobber the shared unnamed statement. A session holds the gate
 * from its first forwarded message until the backend is idle again (ReadyForQuery 'I'). Against a
 * real PostgreSQL server no gate is used at all.
 */
export class Gate {
  private owner: object | null = null;
  private readonly waiters: Array<{ owner: object; resolve: () => void }> = [];

  /** Resolves once `owner` holds the gate; immediate when it already does. */
  acquire(owner: object): Promise<void> {
    if (this.owner === owner) return Promise.resolve();
    if (this.owner === null) {
      this.owner = owner;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push({ owner, resolve }));
  }

  /** Releases when `owner` holds it; a no-op otherwise (safe to call repeatedly). */
  release(owner: object): void {
    if (this.owner !== owner) {
      // A waiter that gives up (its connection closed) must leave the queue.
      const i = this.waiters.findIndex((w) => w.owner === owner);
      if (i >= 0) this.waiters.splice(i, 1);
      return;
    }
    const next = this.waiters.shift();
    this.owner = next ? next.owner : null;
    next?.resolve();
  }

  holds(owner: object): boolean {
    return this.owner === owner;
  }

  /** Runs fn while holding the gate under a fresh owner (internal one-shot queries). */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const me = {};
    await this.acquire(me);
    try {
      return await fn();
    } finally {
      this.release(me);
    }
  }
}
