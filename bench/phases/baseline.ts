/**
 * Item 5: the raw target-write limit. The backlog's rows go straight into a fresh target database by
 * the simplest loop that is still a fair comparison: one connection, one transaction per resolved
 * window (what the engine commits), multi-row upserts and deletes of --flushSize rows per statement
 * (the engine's batch size), parents upserted before children and children deleted before parents.
 * Values are written as generated: no JSON, no staging, no reading back.
 */
import { defer } from '../lib/cleanup.js';
import { rate } from '../lib/stats.js';
import { verifyTarget } from '../verify.js';
import type { WriteRow } from '../targets/target.js';
import type { BacklogWorkload } from './backlog-workload.js';
import type { BenchContext } from './context.js';

export interface BaselineResult {
  readonly rows: number;
  readonly batchSize: number;
  readonly transactions: number;
  readonly statements: number;
  readonly elapsedMs: number;
  readonly rowsPerSecond: number;
  readonly verifiedRows: number;
}

export async function runBaseline(ctx: BenchContext, work: BacklogWorkload): Promise<BaselineResult> {
  const { options, codec, batchSize } = ctx;
  const name = `${ctx.dbPrefix}_baseline`;
  const drop = options.keep ? async () => undefined : defer(`drop ${name}`, () => ctx.target.dropDatabase(name));
  const db = await ctx.target.createDatabase(name, options.tables);
  ctx.progress(`baseline: writing ${work.feed.rows} rows straight into ${name}, ${batchSize} rows per statement`);
  const writer = await db.openWriter();
  let statements = 0;
  const started = performance.now();
  try {
    for (const window of work.feed.windows) {
      // Collapse to the last op per row, as the engine may; first-seen order is kept.
      const perTable = Array.from({ length: options.tables }, () => new Map<number, number>());
      for (const op of window.ops ?? []) perTable[op.table]!.set(op.j, op.version);
      await writer.begin();
      for (let t = 0; t < options.tables; t++) {
        const rows: WriteRow[] = [];
        for (const [j, version] of perTable[t]!) if (version >= 0) rows.push(codec.values(t, j, version));
        if (t === 0) rows.push(codec.markerValues(window.marker));
        for (let k = 0; k < rows.length; k += batchSize) {
          await writer.upsert(t, rows.slice(k, k + batchSize));
          statements++;
        }
      }
      for (let t = options.tables - 1; t >= 0; t--) {
        const ids: string[] = [];
        for (const [j, version] of perTable[t]!) if (version < 0) ids.push(codec.values(t, j, 0).id);
        for (let k = 0; k < ids.length; k += batchSize) {
          await writer.delete(t, ids.slice(k, k + batchSize));
          statements++;
        }
      }
      await writer.commit();
    }
  } finally {
    await writer.close();
  }
  const elapsedMs = performance.now() - started;
  const verified = await verifyTarget(db, work.model, codec, 'baseline');
  await drop();
  return {
    rows: work.feed.rows,
    batchSize,
    transactions: work.feed.windows.length,
    statements,
    elapsedMs: Math.round(elapsedMs),
    rowsPerSecond: rate(work.feed.rows, elapsedMs),
    verifiedRows: verified.rowsChecked,
  };
}
