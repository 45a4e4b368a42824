/**
 * create-changefeed: builds the runbook's exact CREATE CHANGEFEED (the failback tables; the webhook URI
 * with the dialect's path and the encoded CA and client pair; the engine's bearer token as
 * webhook_auth_header; updated, resolved, min_checkpoint_frequency, initial_scan, cursor,
 * webhook_sink_config and webhook_client_timeout; extra options) and records the job id the moment
 * CREATE returns. Before creating it lists the changefeed jobs: an active one with our sink and table
 * set is adopted (a crash after CREATE must not make a second one), and any other active job aimed at
 * this replicator is refused (only one changefeed may feed a replicator). Plans show the statement
 * with the token, key and certificates as ****.
 */
import { redactConn } from '../lib/conn.js';
import { AppError, ExitCode } from '../lib/errors.js';
import { compareHlc, parseHlc } from '../lib/hlc.js';
import { createChangefeedSql } from './lib/changefeed-sql.js';
import { isoNow, sinkLocation, sinkTls, sourceTables } from './lib/common.js';
import { splitTableName } from './lib/crdb.js';
import { engineFiles, readTokenFile } from './lib/engine.js';
import { isActiveStatus, listChangefeedJobs, matchJobs, readChangefeedJob, type ChangefeedJob } from './lib/jobs.js';
import { asOutputs, ChangefeedOutputs, CursorOutputs, outputsOf, PreflightOutputs, requireOutputs, TlsOutputs } from './lib/outputs.js';
import { buildSinkUri, redactSinkText, sinkBase } from './lib/sink-uri.js';
import { diagnoseChangefeed } from './lib/troubleshoot.js';
import type { SourceTable } from './lib/crdb.js';
import type { CheckResult, PlannedAction, Step, StepContext, VerifyResult } from './step.js';

const ID = 'create-changefeed' as const;

function oneFeedError(conflicting: readonly ChangefeedJob[], endpoint: string): AppError {
  return new AppError('ANOTHER_CHANGEFEED', `Another changefeed already points at this replicator (${endpoint}): ${conflicting.map((j) => `job ${j.jobId} (${j.status})`).join(', ')}. Only one changefeed may feed a replicator; mixed streams leave unapplied mutations in staging.`, {
    exitCode: ExitCode.FAILED,
    actions: [
      ...conflicting.map((j) => `If job ${j.jobId} is a leftover, cancel it on CockroachDB: CANCEL JOB ${j.jobId};`),
      'If it is another failback that should keep running, use a different webhook host or port (--webhook-host, --bind-addr) for this one.',
    ],
  });
}

interface Existing {
  recorded?: { jobId: string; job?: ChangefeedJob };
  ours: ChangefeedJob[];
  conflicting: ChangefeedJob[];
}

async function existing(ctx: StepContext, tables: readonly SourceTable[]): Promise<Existing> {
  const session = await ctx.services.crdb();
  const rec = outputsOf(ctx, ID, ChangefeedOutputs);
  const job = rec ? await readChangefeedJob(session, rec.jobId) : undefined;
  const recorded = rec ? { jobId: rec.jobId, job } : undefined;
  const m = matchJobs(await listChangefeedJobs(session), sinkLocation(ctx.config), tables.map((t) => t.key));
  const conflicting = m.conflicting.filter((j) => j.jobId !== rec?.jobId);
  let ours = m.ours;
  if (job && isActiveStatus(job.status)) {
    // Our recorded job is the one; any other active feed into this replicator breaks the one-changefeed rule.
    conflicting.push(...ours.filter((j) => j.jobId !== job.jobId));
    ours = [];
  }
  return { recorded, ours, conflicting };
}

const endpointOf = (ctx: StepContext) => sinkBase(sinkLocation(ctx.config)).replace(/^webhook-https:\/\//, '');

export const createChangefeed: Step = {
  id: ID,
  title: 'Create the CockroachDB changefeed',
  description:
    'Creates the changefeed that sends the failback tables from the cursor to the engine\'s webhook (runbook options, encoded certificates, bearer token), records its job id at once, adopts our existing one, and refuses when another changefeed already points at this replicator.',

  async check(ctx): Promise<CheckResult> {
    const tables = await sourceTables(ctx);
    const e = await existing(ctx, tables);
    if (e.conflicting.length > 0) {
      const err = oneFeedError(e.conflicting, endpointOf(ctx));
      return { state: 'blocked', detail: err.message, actions: err.actions };
    }
    const job = e.recorded?.job;
    if (job && isActiveStatus(job.status)) return { state: 'satisfied', detail: `changefeed ${job.jobId} is ${job.status}` };
    if (e.ours.length > 1) {
      return {
        state: 'blocked',
        detail: `${e.ours.length} changefeeds with this sink and table set are active: ${e.ours.map((j) => j.jobId).join(', ')}`,
        actions: [`Keep one and cancel the others (CANCEL JOB <id>;), then run again.`],
      };
    }
    if (e.ours.length === 1) return { state: 'pending', detail: `changefeed ${(e.ours[0] as ChangefeedJob).jobId} already feeds this replicator; it will be adopted` };
    if (e.recorded) {
      return { state: 'pending', detail: `changefeed ${e.recorded.jobId} is ${job ? job.status : 'gone'}${job?.error ? ` (${redactSinkText(job.error)})` : ''}; a replacement is needed` };
    }
    return { state: 'pending', detail: 'no changefeed yet' };
  },

  async apply(ctx): Promise<void> {
    const session = await ctx.services.crdb();
    const tables = await sourceTables(ctx);
    const e = await existing(ctx, tables);
    if (e.conflicting.length > 0) throw oneFeedError(e.conflicting, endpointOf(ctx));
    const loc = sinkLocation(ctx.config);
    const tls = sinkTls(requireOutputs(ctx, 'prepare-tls', TlsOutputs, 'The webhook certificate'));
    const redactedSink = buildSinkUri(loc, tls, { redact: true });
    const keys = tables.map((t) => t.key);
    const cursorRec = requireOutputs(ctx, 'fetch-cursor', CursorOutputs, 'The changefeed cursor');
    const recordJob = (jobId: string, cursor: string, adopted: boolean, replaced?: string[]) =>
      ctx.record(asOutputs({ jobId, createdAt: isoNow(ctx), sink: redactedSink, cursor, tables: keys, adopted, ...(replaced ? { replaced } : {}) }));

    if (e.recorded?.job && isActiveStatus(e.recorded.job.status)) return;
    const prev = outputsOf(ctx, ID, ChangefeedOutputs);
    if (e.ours.length > 1) throw new AppError('MANY_CHANGEFEEDS', `${e.ours.length} changefeeds with this sink and table set are active: ${e.ours.map((j) => j.jobId).join(', ')}.`, { actions: ['Keep one and cancel the others (CANCEL JOB <id>;).'] });
    if (e.ours.length === 1) {
      // Created by an earlier run that crashed before recording it (possibly as a replacement).
      const job = e.ours[0] as ChangefeedJob;
      const started = /\bcursor\s*=\s*'(\d+(?:\.\d+)?)'/.exec(job.description)?.[1];
      await recordJob(job.jobId, started ?? prev?.cursor ?? cursorRec.cursor, true, e.recorded ? [...(prev?.replaced ?? []), e.recorded.jobId] : undefined);
      ctx.ui.info(`Adopted changefeed ${job.jobId} (${job.status}), which already sends these tables to ${sinkBase(loc)}.`);
      return;
    }

    let cursor = cursorRec.cursor;
    let replaced: string[] | undefined;
    if (e.recorded) {
      // Our job ended (failed, canceled, or gone). Resuming from its high-water mark avoids re-sending what it delivered.
      const job = e.recorded.job;
      const hw = job?.highWater;
      if (hw && compareHlc(parseHlc(hw), parseHlc(prev?.cursor ?? cursor)) > 0) cursor = hw;
      else cursor = prev?.cursor ?? cursor;
      const why = job ? `is ${job.status}${job.error ? `: ${redactSinkText(job.error)}` : ''}` : 'no longer exists';
      ctx.ui.warn(`Changefeed ${e.recorded.jobId} ${why}.`);
      if (!(await ctx.ui.confirm(`Create a replacement changefeed starting at ${cursor}?`, { default: true }))) {
        throw new AppError('DECLINED', `Changefeed ${e.recorded.jobId} ${why}; no replacement was created.`, { exitCode: ExitCode.DECLINED, actions: ['End the failback with molt-failback teardown, or run again to create a replacement.'] });
      }
      replaced = [...(prev?.replaced ?? []), e.recorded.jobId];
    }

    const token = readTokenFile(engineFiles(ctx.stateDir).tokenFile);
    if (!token) throw new AppError('PREREQUISITE_MISSING', 'The engine\'s bearer token does not exist yet: the start-replicator step has not run.', { actions: ['Run molt-failback step start-replicator first.'] });
    const inputs = { tables: tables.map((t) => [t.schema, t.name]), sink: loc, tls, cursor, token };
    const sql = createChangefeedSql(ctx.config, inputs);
    ctx.ui.progress(createChangefeedSql(ctx.config, inputs, { redact: true }));
    let jobId: string;
    try {
      const { rows } = await session.query<{ job_id: unknown }>(sql);
      jobId = String(rows[0]?.job_id ?? '');
      if (!/^\d+$/.test(jobId)) throw new Error(`CREATE CHANGEFEED returned no job id (${JSON.stringify(rows[0] ?? null)})`);
    } catch (err) {
      const d = await diagnoseChangefeed(ctx, (err as Error).message);
      throw new AppError('CHANGEFEED_CREATE_FAILED', `CREATE CHANGEFEED failed: ${d.summary}`, { actions: d.actions.length > 0 ? d.actions : ['Check the statement shown by --dry-run and the CockroachDB logs.'] });
    }
    // Record first, talk later: a crash after this line still knows the job.
    await recordJob(jobId, cursor, false, replaced);
    ctx.ui.info(`Created changefeed ${jobId} from cursor ${cursor} into ${sinkBase(loc)}.`);
  },

  async verify(ctx): Promise<VerifyResult> {
    const rec = outputsOf(ctx, ID, ChangefeedOutputs);
    if (!rec) return { ok: false, detail: 'no changefeed recorded' };
    const job = await readChangefeedJob(await ctx.services.crdb(), rec.jobId);
    if (!job) return { ok: false, detail: `changefeed ${rec.jobId} does not exist` };
    if (!isActiveStatus(job.status)) return { ok: false, detail: `changefeed ${rec.jobId} is ${job.status}${job.error ? `: ${redactSinkText(job.error)}` : ''}` };
    return { ok: true, detail: `changefeed ${rec.jobId} is ${job.status}` };
  },

  async plan(ctx): Promise<PlannedAction[]> {
    const target = `CockroachDB ${redactConn(ctx.config.crdb.conn)}`;
    const cursor = outputsOf(ctx, 'fetch-cursor', CursorOutputs)?.cursor ?? ctx.config.changefeed.cursor ?? '<cursor from fetch-cursor>';
    const rec = outputsOf(ctx, 'prepare-tls', TlsOutputs);
    const loc = sinkLocation(ctx.config);
    const pre = outputsOf(ctx, 'preflight', PreflightOutputs);
    const parts = pre?.tables.map((t) => t.split('.')) ?? ctx.config.tables.map((t) => {
      const { schema, table } = splitTableName(t);
      return [schema ?? 'public', table];
    });
    const tlsShown = rec ? { caCertPem: rec.caCert ? 'x' : undefined, clientCertPem: rec.clientCert ? 'x' : undefined, clientKeyPem: rec.clientKey ? 'x' : undefined } : { caCertPem: 'x', clientCertPem: 'x', clientKeyPem: 'x' };
    const sql = createChangefeedSql(ctx.config, { tables: parts, sink: loc, tls: tlsShown, cursor, token: '****' }, { redact: true });
    return [
      { kind: 'sql', target, text: 'SELECT * FROM [SHOW CHANGEFEED JOBS] (adopt ours; refuse another changefeed aimed at this replicator)' },
      { kind: 'sql', target, text: sql, when: 'unless a changefeed of ours is already active' },
    ];
  },
};
