/**
 * The two workloads. Tables form a foreign-key chain (bench_t1 references bench_t0, bench_t2
 * references bench_t1, ...), and a source transaction touches one "subtree": row j of every table.
 * Ops within a transaction are listed parent table first, also for deletes, the order CockroachDB is
 * free to send and the one the engine must reorder (children are deleted before parents).
 *
 *  - backlog: inserts of S subtrees, then updates of the first U, then deletes of the last D, at a
 *    fixed source rate: the catch-up case, generated ahead of time;
 *  - steady: a seeded random mix of inserts, single-row updates and deletes of the oldest subtree,
 *    generated window by window in real time.
 */
import type { FeedBuilder, Txn } from './feed.js';
import type { ExpectedState, Op } from './model.js';

export interface BacklogShape {
  readonly rows: number;
  readonly tables: number;
  readonly mix: readonly [number, number, number];
  readonly sourceRate: number;
}

export function backlogCounts(shape: BacklogShape): { inserts: number; updates: number; deletes: number } {
  const subtrees = (share: number) => Math.max(share > 0 ? 1 : 0, Math.round((shape.rows * share) / shape.tables));
  const inserts = subtrees(shape.mix[0]);
  return { inserts, updates: Math.min(inserts, subtrees(shape.mix[1])), deletes: Math.min(inserts, subtrees(shape.mix[2])) };
}

/** Feeds the whole backlog into `feed` (and, through it, the expected state). */
export function writeBacklog(feed: FeedBuilder, shape: BacklogShape): void {
  const { inserts, updates, deletes } = backlogCounts(shape);
  const txnNs = (shape.tables * 1e9) / shape.sourceRate;
  let k = 0;
  const txn = (ops: Op[]): Txn => ({ offsetNs: Math.floor(k++ * txnNs), ops });
  const subtree = (j: number, version: number): Op[] => Array.from({ length: shape.tables }, (_, table) => ({ table, j, version }));
  for (let j = 0; j < inserts; j++) feed.add(txn(subtree(j, 0)));
  for (let j = 0; j < updates; j++) feed.add(txn(subtree(j, 1)));
  for (let j = inserts - deletes; j < inserts; j++) feed.add(txn(subtree(j, -1)));
  feed.finish();
}

/** Source time the backlog spans, in nanoseconds (to place its HLCs in the recent past). */
export const backlogSpanNs = (shape: BacklogShape): number => {
  const { inserts, updates, deletes } = backlogCounts(shape);
  return Math.ceil(((inserts + updates + deletes) * shape.tables * 1e9) / shape.sourceRate);
};

/** Seeded, fast, good enough for picking ops (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Real-time source: 60% of transactions insert a new subtree, 25% update one row of a live subtree,
 * 15% delete the oldest live subtree (while more than 100 are live).
 */
export class SteadySource {
  private readonly random: () => number;
  private next = 0;
  private oldest = 0;
  private carry = 0;

  constructor(
    private readonly tables: number,
    private readonly model: ExpectedState,
    seed: number,
  ) {
    this.random = prng(seed);
  }

  /** Adds about `rows` rows of transactions spread evenly over [startNs, endNs) of source time. */
  fillWindow(feed: FeedBuilder, startNs: number, endNs: number, rows: number): void {
    const budget = rows + this.carry;
    let used = 0;
    while (used < budget) {
      const offsetNs = startNs + Math.floor(((endNs - startNs) * used) / budget);
      const ops = this.nextOps();
      feed.add({ offsetNs, ops });
      used += ops.length;
    }
    this.carry = budget - used;
  }

  private nextOps(): Op[] {
    const r = this.random();
    const live = this.next - this.oldest;
    if (r < 0.25 && live > 0) {
      const j = this.oldest + Math.floor(this.random() * live);
      const table = Math.floor(this.random() * this.tables);
      return [{ table, j, version: this.model.version(table, j) + 1 }];
    }
    if (r < 0.4 && live > 100) {
      const j = this.oldest++;
      return Array.from({ length: this.tables }, (_, table) => ({ table, j, version: -1 }));
    }
    const j = this.next++;
    return Array.from({ length: this.tables }, (_, table) => ({ table, j, version: 0 }));
  }
}
