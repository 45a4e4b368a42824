/**
 * Builds a backlog changefeed ahead of time (so the bench spends no CPU generating it while the
 * engine is measured): bodies, windows and the expected final state. Its source timestamps end one
 * second before now, like rows that piled up while replication was behind.
 */
import type { BenchContext } from './context.js';
import { FeedBuilder, nowNanos } from '../workload/feed.js';
import { ExpectedState } from '../workload/model.js';
import { backlogCounts, backlogSpanNs, writeBacklog, type BacklogShape } from '../workload/scripts.js';

export interface BacklogWorkload {
  readonly feed: FeedBuilder;
  readonly model: ExpectedState;
  readonly shape: BacklogShape;
  readonly counts: { inserts: number; updates: number; deletes: number };
  readonly bytes: number;
}

export function buildBacklog(ctx: BenchContext, rows: number, keepOps: boolean): BacklogWorkload {
  const { options } = ctx;
  const shape: BacklogShape = { rows, tables: options.tables, mix: options.mix, sourceRate: options.sourceRate };
  const model = new ExpectedState(options.tables);
  const baseNanos = nowNanos() - BigInt(backlogSpanNs(shape)) - 1_000_000_000n;
  const feed = new FeedBuilder(ctx.codec, model, {
    baseNanos,
    windowNs: options.resolvedMs * 1_000_000,
    bodyBytes: options.bodyBytes,
    flushAtResolved: false,
    keepOps,
  });
  writeBacklog(feed, shape);
  const bytes = feed.bodies.reduce((n, b) => n + b.buffer.length, 0);
  return { feed, model, shape, counts: backlogCounts(shape), bytes };
}
