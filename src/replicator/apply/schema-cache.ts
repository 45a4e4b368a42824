/**
 * Cached target introspection per target schema: re-read at most every `refreshMs`, on demand, and
 * shared by concurrent callers (one catalog read in flight per schema). When a periodic refresh fails
 * (target briefly down) the last good copy keeps serving, as MOLT Replicator does.
 */
import { redactText } from '../../lib/conn.js';
import type { Logger } from '../../lib/log.js';
import type { SchemaInfo, TargetPool, TargetSchema } from '../types.js';

interface Entry {
  info: SchemaInfo | undefined;
  at: number;
}

export class SchemaCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<SchemaInfo | undefined>>();

  constructor(
    private readonly pool: TargetPool,
    private readonly log: Logger,
    private readonly refreshMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(schema: TargetSchema, refresh = false): Promise<SchemaInfo | undefined> {
    const entry = this.entries.get(schema.key);
    if (!refresh && entry && this.now() - entry.at < this.refreshMs) return entry.info;
    try {
      return await this.load(schema);
    } catch (err) {
      if (refresh || !entry) throw err;
      this.log.warn({ schema: schema.key, err: redactText((err as Error).message) }, 'target schema refresh failed; using the previous copy');
      return entry.info;
    }
  }

  private load(schema: TargetSchema): Promise<SchemaInfo | undefined> {
    let p = this.inflight.get(schema.key);
    if (!p) {
      p = this.pool
        .introspect(schema)
        .then((info) => {
          this.entries.set(schema.key, { info, at: this.now() });
          return info;
        })
        .finally(() => this.inflight.delete(schema.key));
      this.inflight.set(schema.key, p);
    }
    return p;
  }
}
