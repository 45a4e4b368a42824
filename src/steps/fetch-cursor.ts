/**
 * fetch-cursor: the changefeed starts strictly after a cursor, taken from CockroachDB's own clock
 * (SELECT cluster_logical_timestamp()) after forward replication has drained, and kept as the exact
 * DECIMAL text (it exceeds 2^53; a JS number would round it). The recorded cursor is reused for as
 * long as no changefeed exists, so a crash or a re-run never moves the start point (a later cursor
 * would skip changes). A cursor older than the GC TTL (the lowest of the database's and each table's
 * zone) is refused with the runbook's GC guidance, and a small remaining margin is warned about.
 */
import { redactConn } from '../lib/conn.js';
import { AppError, ExitCode } from '../lib/errors.js';
import { hlcDate, parseHlc, isValidHlc } from '../lib/hlc.js';
import { isoNow, sourceTables } from './lib/common.js';
import { clusterLogicalTimestamp, currentDatabase, showZoneSql } from './lib/crdb.js';
import { formatMs } from './lib/durations.js';
import { effectiveGcTtl, gcGuidance, gcVerdict, type GcVerdict, type GcWindow } from './lib/gc.js';
import { asOutputs, ChangefeedOutputs, CursorOutputs, DrainOutputs, outputsOf } from './lib/outputs.js';
import type { CheckResult, PlannedAction, Step, StepContext, VerifyResult } from './step.js';

interface Assessment {
  cursor: string;
  verdict: GcVerdict;
  window: GcWindow;
  database: string;
}

async function assess(ctx: StepContext, cursor: string): Promise<Assessment> {
  const session = await ctx.services.crdb();
  const database = await currentDatabase(session);
  const window = await effectiveGcTtl(session, database, await sourceTables(ctx));
  const now = await clusterLogicalTimestamp(session);
  return { cursor, verdict: gcVerdict(cursor, now, window.ttlSeconds), window, database };
}

function describe(a: Assessment): string {
  return `cursor ${a.cursor} (${hlcDate(parseHlc(a.cursor)).toISOString()}), ${formatMs(Math.max(0, a.verdict.ageSeconds) * 1000)} old; GC TTL ${a.window.ttlSeconds}s from ${a.window.from}`;
}

function expiredResult(a: Assessment): CheckResult {
  return {
    state: 'blocked',
    detail: `${describe(a)}: it is older than the GC TTL, so CockroachDB may already have collected the history after it ("batch timestamp ... must be after replica GC threshold")`,
    actions: gcGuidance(a.database, a.verdict.ageSeconds),
  };
}

/**
 * A cursor fetched before the (latest) drain was recorded would send forward-replicated rows back.
 * Both times come from this machine's clock, so clock skew with CockroachDB cannot trigger it.
 */
function predatesDrain(ctx: StepContext, fetchedAt: string): boolean {
  const drain = outputsOf(ctx, 'drain-forward', DrainOutputs);
  return drain !== undefined && Date.parse(fetchedAt) < Date.parse(drain.drainedAt);
}

function configuredCursor(ctx: StepContext): string | undefined {
  const c = ctx.config.changefeed.cursor;
  if (c === undefined) return undefined;
  if (!isValidHlc(c)) {
    throw new AppError('CURSOR_INVALID', `--cursor "${c}" is not a CockroachDB HLC timestamp such as 1759246920563173000.0000000000.`, {
      exitCode: ExitCode.USAGE,
      actions: ['Take one with SELECT cluster_logical_timestamp(); or leave --cursor out to let molt-failback fetch it.'],
    });
  }
  return c;
}

export const fetchCursor: Step = {
  id: 'fetch-cursor',
  title: 'Capture the changefeed start cursor',
  description:
    "Takes SELECT cluster_logical_timestamp() on CockroachDB after the drain (kept as exact DECIMAL text), reuses it until a changefeed exists, and refuses one older than the GC TTL of the database or any failback table.",

  async check(ctx): Promise<CheckResult> {
    const rec = outputsOf(ctx, 'fetch-cursor', CursorOutputs);
    const feed = outputsOf(ctx, 'create-changefeed', ChangefeedOutputs);
    if (feed) return { state: 'satisfied', detail: `cursor ${feed.cursor} is in use by changefeed ${feed.jobId}` };
    const configured = configuredCursor(ctx);
    if (configured !== undefined && configured !== rec?.cursor) return { state: 'pending', detail: `--cursor ${configured} is not recorded yet` };
    if (!rec) return { state: 'pending', detail: 'no cursor yet' };
    if (configured === undefined && predatesDrain(ctx, rec.fetchedAt)) return { state: 'pending', detail: `the recorded cursor ${rec.cursor} was taken before the drain finished; a new one is needed` };
    const a = await assess(ctx, rec.cursor);
    if (a.verdict.state === 'expired') return expiredResult(a);
    if (a.verdict.state === 'future') return { state: 'blocked', detail: `${describe(a)}: the cursor is in CockroachDB's future`, actions: ['Use a cursor taken with SELECT cluster_logical_timestamp();.'] };
    const tight = a.verdict.state === 'tight' ? `; only ${formatMs(a.verdict.remainingSeconds * 1000)} left before GC may pass it` : '';
    return { state: 'satisfied', detail: `${describe(a)}${tight}` };
  },

  async apply(ctx): Promise<void> {
    const configured = configuredCursor(ctx);
    const rec = outputsOf(ctx, 'fetch-cursor', CursorOutputs);
    let cursor: string;
    let source: 'fetched' | 'configured';
    if (configured !== undefined) {
      cursor = configured;
      source = 'configured';
    } else if (rec && rec.source === 'fetched' && !predatesDrain(ctx, rec.fetchedAt)) {
      cursor = rec.cursor;
      source = 'fetched';
    } else {
      cursor = await clusterLogicalTimestamp(await ctx.services.crdb());
      source = 'fetched';
    }
    const a = await assess(ctx, cursor);
    if (a.verdict.state === 'expired') {
      const r = expiredResult(a);
      throw new AppError('CURSOR_TOO_OLD', r.detail, { actions: r.actions });
    }
    if (a.verdict.state === 'tight') {
      ctx.ui.warn(`Only ${formatMs(a.verdict.remainingSeconds * 1000)} remain before GC may pass the cursor (GC TTL ${a.window.ttlSeconds}s from ${a.window.from}). Create the changefeed soon, or: ${gcGuidance(a.database, a.verdict.ageSeconds)[0]}`);
    }
    await ctx.record(asOutputs({ cursor, source, fetchedAt: rec?.cursor === cursor ? rec.fetchedAt : isoNow(ctx), gcTtlSeconds: a.window.ttlSeconds, gcFrom: a.window.from }));
    ctx.ui.info(`Cursor: ${cursor}`);
  },

  async verify(ctx): Promise<VerifyResult> {
    const rec = outputsOf(ctx, 'fetch-cursor', CursorOutputs);
    if (!rec) return { ok: false, detail: 'no cursor recorded' };
    if (!isValidHlc(rec.cursor)) return { ok: false, detail: `the recorded cursor "${rec.cursor}" is not an HLC timestamp` };
    if (outputsOf(ctx, 'create-changefeed', ChangefeedOutputs)) return { ok: true, detail: `cursor ${rec.cursor}` };
    const a = await assess(ctx, rec.cursor);
    if (a.verdict.state === 'expired') return { ok: false, detail: expiredResult(a).detail, actions: expiredResult(a).actions };
    return { ok: true, detail: describe(a) };
  },

  async plan(ctx): Promise<PlannedAction[]> {
    const target = `CockroachDB ${redactConn(ctx.config.crdb.conn)}`;
    const rec = outputsOf(ctx, 'fetch-cursor', CursorOutputs);
    const actions: PlannedAction[] = [];
    if (ctx.config.changefeed.cursor) actions.push({ kind: 'sql', target, text: `(use --cursor ${ctx.config.changefeed.cursor})` });
    else actions.push({ kind: 'sql', target, text: 'SELECT cluster_logical_timestamp()', when: rec ? `only if the recorded cursor ${rec.cursor} cannot be reused` : undefined });
    actions.push({ kind: 'sql', target, text: `${showZoneSql('DATABASE', ['<current database>'])}; ${showZoneSql('TABLE', ['<schema>', '<table>'])} for each table` });
    return actions;
  },
};
