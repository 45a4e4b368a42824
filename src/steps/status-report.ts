/**
 * `status`: what the state file says (each step, its recorded outputs, what teardown did, what to do
 * next) and, once a changefeed job is recorded, the live picture: the job from CockroachDB and the
 * engine's metrics scraped twice for rates. Read-only: no lock, no prompt, no state write. A peer that
 * cannot be reached is reported as such and the rest is still shown.
 */
import { formatHlc, hlcDate, parseHlc, parseStatusHlc, type Hlc } from '../lib/hlc.js';
import { redactText } from '../lib/conn.js';
import type { StepId } from './config.js';
import { ChangefeedOutputs, EngineOutputs, outputsOf } from './lib/outputs.js';
import { readChangefeedJob, scrapeEngine, type EngineSnapshot } from './observe.js';
import type { HttpClient, SqlSession } from './services.js';
import type { FailbackState } from './state/schema.js';
import type { Json, Step } from './step.js';
import { describeRecord } from './present.js';

export interface StepStatus {
  id: StepId;
  title: string;
  status: string;
  summary: string;
  attempts: number;
  finishedAt?: string;
  detail?: string;
  error?: { code: string; message: string; at: string };
  outputs: Record<string, Json>;
}

export interface LiveChangefeed {
  jobId: string;
  /** False when CockroachDB is not configured or not reachable (then `note` says which). */
  reachable: boolean;
  note?: string;
  found?: boolean;
  status?: string;
  runningStatus?: string;
  error?: string;
  /** Last resolved timestamp as the exact decimal HLC, and as a date. */
  resolved?: { hlc: string; at: string; ageSeconds: number };
}

export interface LiveEngine {
  metricsUrl: string;
  reachable: boolean;
  note?: string;
  lagSeconds?: number;
  rowsApplied?: number;
  rowsPerSecond?: number;
  /** Seconds between the two scrapes the rate comes from. */
  sampledOverSeconds?: number;
  webhookRequests?: number;
  webhookOk?: number;
  webhookErrors?: number;
}

export interface StatusReport {
  stateFile: string;
  exists: boolean;
  createdAt?: string;
  updatedAt?: string;
  subject?: FailbackState['subject'];
  steps: StepStatus[];
  teardown?: FailbackState['teardown'];
  live: { changefeed?: LiveChangefeed; engine?: LiveEngine };
  nextActions: string[];
}

/** Output keys that must never be shown even if a step recorded one by mistake. */
const SECRET_KEY = /(password|passwd|secret|token$|privatekey|^key$|pem$)/i;

function safeOutputs(outputs: Record<string, unknown> | undefined): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(outputs ?? {})) {
    if (SECRET_KEY.test(k)) continue;
    out[k] = (typeof v === 'string' ? redactText(v) : v) as Json;
  }
  return out;
}

export function stepStatuses(steps: readonly Step[], state: FailbackState | undefined): StepStatus[] {
  return steps.map((s) => {
    const rec = state?.steps[s.id];
    return {
      id: s.id,
      title: s.title,
      status: rec?.status ?? 'pending',
      summary: describeRecord(rec).replace(/ \(will be re-checked\)$/, ''),
      attempts: rec?.attempts ?? 0,
      ...(rec?.finishedAt ? { finishedAt: rec.finishedAt } : {}),
      ...(rec?.detail ? { detail: redactText(rec.detail) } : {}),
      ...(rec?.error ? { error: { ...rec.error, message: redactText(rec.error.message) } } : {}),
      outputs: safeOutputs(rec?.outputs),
    };
  });
}

const outputsView = (state: FailbackState) => ({ outputs: (id: StepId) => (state.steps[id]?.outputs ?? {}) as never });

/** What the create-changefeed step recorded, if anything. */
export function recordedChangefeed(state: FailbackState | undefined): ChangefeedOutputs | undefined {
  if (!state) return undefined;
  return outputsOf(outputsView(state), 'create-changefeed', ChangefeedOutputs);
}

/** The changefeed job id the create-changefeed step recorded, if any. */
export const recordedJobId = (state: FailbackState | undefined): string | undefined => recordedChangefeed(state)?.jobId;

export function recordedEngine(state: FailbackState | undefined): EngineOutputs | undefined {
  if (!state) return undefined;
  return outputsOf(outputsView(state), 'start-replicator', EngineOutputs);
}

function resolvedOf(highWater: string | undefined, runningStatus: string | undefined, nowMs: number): LiveChangefeed['resolved'] {
  let hlc: Hlc | undefined;
  try {
    if (highWater) hlc = parseHlc(highWater);
  } catch {
    hlc = undefined;
  }
  hlc ??= runningStatus ? parseStatusHlc(runningStatus) : undefined;
  if (!hlc || hlc.nanos === 0n) return undefined;
  const at = hlcDate(hlc);
  return { hlc: formatHlc(hlc), at: at.toISOString(), ageSeconds: Math.max(0, Math.round((nowMs - at.getTime()) / 100) / 10) };
}

export interface LiveOptions {
  /** CockroachDB, when configured; undefined makes the changefeed part say "not configured". */
  crdb?: () => Promise<SqlSession>;
  /** Why the configured CockroachDB connection cannot be used (it does not parse). */
  crdbProblem?: string;
  http: HttpClient;
  intervalMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

export async function liveChangefeed(jobId: string, options: LiveOptions): Promise<LiveChangefeed> {
  if (!options.crdb && options.crdbProblem) return { jobId, reachable: false, note: `CockroachDB is configured but unusable: ${options.crdbProblem}` };
  if (!options.crdb) {
    return { jobId, reachable: false, note: 'CockroachDB is not configured here (give --crdb-conn, MOLT_FAILBACK_CRDB_CONN or crdb.conn in the config file to see the job).' };
  }
  try {
    const job = await readChangefeedJob(await options.crdb(), jobId);
    if (!job) return { jobId, reachable: true, found: false, note: `CockroachDB has no changefeed job ${jobId} (any more).` };
    return {
      jobId,
      reachable: true,
      found: true,
      status: job.status,
      runningStatus: job.runningStatus,
      ...(job.error ? { error: redactText(job.error) } : {}),
      resolved: resolvedOf(job.highWater, job.runningStatus, options.now()),
    };
  } catch (err) {
    return { jobId, reachable: false, note: `CockroachDB could not be queried: ${redactText((err as Error).message)}` };
  }
}

const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

function lagOf(s: EngineSnapshot): number | undefined {
  if (s.sourceLagSeconds !== undefined) return s.sourceLagSeconds;
  const applied = Object.values(s.applied);
  if (applied.length === 0) return undefined;
  return Math.max(0, s.at / 1000 - Math.min(...applied));
}

export async function liveEngine(metricsUrl: string, options: LiveOptions): Promise<LiveEngine> {
  const take = () => scrapeEngine(metricsUrl, options.http, 3000);
  let first: EngineSnapshot;
  try {
    first = await take();
  } catch (err) {
    return { metricsUrl, reachable: false, note: `The engine's metrics did not answer: ${redactText((err as Error).message)}` };
  }
  let second: EngineSnapshot | undefined;
  try {
    await options.sleep(options.intervalMs);
    second = await take();
  } catch {
    second = undefined; // one scrape still gives totals and lag
  }
  const last = second ?? first;
  const dt = second ? (second.at - first.at) / 1000 : 0;
  const requests = sum(last.httpCodes);
  return {
    metricsUrl,
    reachable: true,
    lagSeconds: lagOf(last),
    rowsApplied: sum(last.rows),
    ...(second && dt > 0 ? { rowsPerSecond: Math.round(((sum(second.rows) - sum(first.rows)) / dt) * 10) / 10, sampledOverSeconds: Math.round(dt * 10) / 10 } : {}),
    webhookRequests: requests,
    webhookOk: last.http200,
    webhookErrors: last.httpErrors,
  };
}

// ---------------------------------------------------------------------------------------------------
// Rendering

/**
 * The handles a person looks for (cursor, job id, pid, URLs, files); everything a step recorded is in
 * --json. Keys are shared across steps, so one list serves them all.
 */
const SHOWN_OUTPUTS = ['cursor', 'jobId', 'sink', 'pid', 'webhookUrl', 'metricsUrl', 'logFile', 'method', 'user', 'mode', 'serverCert', 'caCert', 'notAfter', 'drainedAt', 'crdbVersion', 'targetUser', 'changed', 'provenAt'];

function outputLines(outputs: Record<string, Json>): string[] {
  return SHOWN_OUTPUTS.filter((k) => outputs[k] !== undefined && !(Array.isArray(outputs[k]) && (outputs[k] as Json[]).length === 0)).map((k) => {
    const v = outputs[k];
    return `      ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`;
  });
}

export function renderStatus(r: StatusReport): string {
  const lines: string[] = [];
  if (!r.exists) {
    lines.push(`No state at ${r.stateFile}: no failback has run with this state file yet.`);
  } else {
    lines.push(`State: ${r.stateFile} (created ${r.createdAt}, updated ${r.updatedAt})`);
    const s = r.subject ?? {};
    if (s.crdb) lines.push(`  CockroachDB: ${s.crdb}`);
    if (s.target) lines.push(`  Target:      ${s.target}${s.targetSchema ? ` (schema ${s.targetSchema})` : ''}`);
    if (s.tables?.length) lines.push(`  Tables:      ${s.tables.join(', ')}`);
  }
  lines.push('', 'Steps:');
  r.steps.forEach((st, i) => {
    lines.push(`  ${String(i + 1).padStart(2)}. ${st.id.padEnd(24)} ${st.summary}`);
    if (st.detail && st.status !== 'failed') lines.push(`      ${st.detail.split('\n')[0]}`);
    lines.push(...outputLines(st.outputs));
  });
  if (r.teardown) {
    const t = r.teardown;
    lines.push('', `Teardown (${t.at}):`);
    lines.push(`  changefeed: ${t.changefeed.outcome}: ${t.changefeed.detail}`);
    lines.push(`  engine:     ${t.engine.outcome}: ${t.engine.detail}`);
    lines.push(`  staging:    ${t.staging.outcome}: ${t.staging.detail}`);
  }
  const cf = r.live.changefeed;
  const en = r.live.engine;
  if (cf || en) lines.push('', 'Live:');
  if (cf) {
    if (!cf.reachable || !cf.found) lines.push(`  Changefeed ${cf.jobId}: ${cf.note}`);
    else {
      lines.push(`  Changefeed ${cf.jobId}: ${cf.status}${cf.runningStatus ? ` (${cf.runningStatus})` : ''}`);
      if (cf.resolved) lines.push(`    last resolved: ${cf.resolved.hlc} = ${cf.resolved.at} (${cf.resolved.ageSeconds}s ago)`);
      else lines.push('    last resolved: none yet');
      if (cf.error) lines.push(`    error: ${cf.error}`);
    }
  }
  if (en) {
    if (!en.reachable) lines.push(`  Engine (${en.metricsUrl}): ${en.note}`);
    else {
      lines.push(`  Engine (${en.metricsUrl}):`);
      lines.push(`    lag: ${en.lagSeconds === undefined ? 'unknown (nothing applied yet)' : `${en.lagSeconds.toFixed(1)}s`}`);
      lines.push(`    rows applied: ${en.rowsApplied}${en.rowsPerSecond !== undefined ? ` (${en.rowsPerSecond}/s over ${en.sampledOverSeconds}s)` : ''}`);
      lines.push(`    webhook requests: ${en.webhookRequests} (${en.webhookOk} OK, ${en.webhookErrors} errors)`);
    }
  }
  if (r.nextActions.length > 0) {
    lines.push('', 'Next:');
    for (const n of r.nextActions) lines.push(`  - ${n}`);
  }
  return lines.join('\n');
}
