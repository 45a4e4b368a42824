/**
 * The sandbox's human output: the opening lines that say what is real and what is SIMULATED, the
 * live progress line (rewritten in place in a terminal, one line every few seconds otherwise), the
 * verdict block, and the connection details printed by --keep. Text only: where it goes (stdout, or
 * stderr under --json) is the caller's choice.
 */
import { formatDuration } from '../steps/render-plain.js';
import type { FlowSample } from './flow.js';
import type { KeptEnvironment, SandboxResult } from './result.js';

export interface Printer {
  /** A permanent line; a status line still showing is removed first. */
  line(text?: string): void;
  /** A transient status line: rewritten in a terminal, throttled to one every few seconds elsewhere. */
  status(text: string): void;
  /** Makes the current status line permanent (its last text stays on screen or in the log). */
  settle(): void;
}

export function printer(out: NodeJS.WriteStream | NodeJS.WritableStream, options: { tty: boolean; everyMs?: number }): Printer {
  let open = false;
  let lastAt = 0;
  /** The newest status text not yet written (plain output only). */
  let unwritten: string | undefined;
  const every = options.everyMs ?? 3000;
  return {
    line(text = '') {
      // An open status line was transient: it makes way for the permanent line.
      if (open) out.write('\r\x1b[2K');
      open = false;
      unwritten = undefined;
      out.write(`${text}\n`);
    },
    status(text) {
      if (options.tty) {
        out.write(`\r\x1b[2K${text}`);
        open = true;
        return;
      }
      if (Date.now() - lastAt < every) {
        unwritten = text;
        return;
      }
      lastAt = Date.now();
      unwritten = undefined;
      out.write(`${text}\n`);
    },
    settle() {
      if (open) out.write('\n');
      else if (unwritten !== undefined) out.write(`${unwritten}\n`);
      open = false;
      unwritten = undefined;
      lastAt = 0;
    },
  };
}

const seconds = (ms: number) => formatDuration(Math.round(ms));

export interface HeaderInfo {
  readonly seed: number;
  readonly crdbUrl: string;
  readonly targetDescription: string;
  readonly targetUrl: string;
  readonly forwardPid: number;
  readonly forwardMetricsUrl: string;
  readonly seedRows: Readonly<Record<string, number>>;
  readonly stateDir: string;
  readonly startMs: number;
}

export function renderHeader(h: HeaderInfo): string[] {
  const rows = Object.entries(h.seedRows)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  return [
    `Ready in ${seconds(h.startMs)}: databases and example data (seed ${h.seed}; the same run again: --seed ${h.seed}).`,
    `  CockroachDB   SIMULATED: the CockroachDB emulator over embedded PGlite  ${h.crdbUrl}`,
    `  target        ${h.targetDescription}  ${h.targetUrl}`,
    '  staging       defaultdb._replicator on the emulated CockroachDB, as in production',
    `  forward       SIMULATED forward replicator: pid ${h.forwardPid}, metrics ${h.forwardMetricsUrl} (its counters settle; it replicates nothing)`,
    `  schema        employees, payments, orders with foreign keys, the same rows on both sides (${rows}), as a finished forward migration leaves them`,
    `  state folder  ${h.stateDir}`,
  ];
}

export function renderFlow(s: FlowSample | undefined, tx: { done: number; total: number }): string {
  const head = `  workload ${tx.done}/${tx.total} transactions`;
  if (!s) return `${head} | engine metrics not answering yet`;
  const lag = s.lagSeconds === undefined ? 'n/a' : `${s.lagSeconds.toFixed(1)}s`;
  return `${head} | applied ${s.rowsApplied} rows | lag ${lag} | ${Math.round(s.rowsPerSecond)} rows/s${s.webhookErrors > 0 ? ` | webhook errors ${s.webhookErrors}` : ''}`;
}

export function renderSummary(r: SandboxResult): string[] {
  const w = Math.max(5, ...r.tables.map((t) => t.table.length));
  const lines = [
    `Workload: ${r.workload.transactions} transactions (${r.workload.inserts} inserts, ${r.workload.updates} updates, ${r.workload.deletes} deletes) in ${seconds(r.workload.durationMs)}.`,
    `Replication: the engine applied ${r.replication.rowsApplied} rows (mean ${Math.round(r.replication.meanRowsPerSecond)} rows/s, peak ${Math.round(r.replication.peakRowsPerSecond)} rows/s, max lag ${r.replication.maxLagSeconds.toFixed(1)}s) and caught up to ${r.replication.caughtUpTo} ${seconds(r.replication.catchUpMs)} after the workload stopped.`,
    '',
    `  ${'table'.padEnd(w)}  rows CockroachDB / target  verdict`,
    ...r.tables.map(
      (t) =>
        `  ${t.table.padEnd(w)}  ${`${t.crdbRows ?? 'absent'} / ${t.targetRows ?? 'absent'}`.padEnd(25)}  ${t.verdict === 'equal' ? 'equal (counts and checksums)' : `MISMATCH (${t.differences} differing rows)`}`,
    ),
    '',
  ];
  const tm = r.timings;
  lines.push(
    r.verdict === 'match'
      ? `VERDICT: MATCH. Every table on the target equals CockroachDB: the failback replicated every change.`
      : `VERDICT: MISMATCH. ${r.tables.filter((t) => t.verdict !== 'equal').length} table(s) differ; see above (molt-failback verify --show-values lists rows).`,
    `Timings: databases ${seconds(tm.databasesMs)}, schema and seed ${seconds(tm.schemaMs)}, wizard ${seconds(tm.wizardMs)}, workload ${seconds(tm.workloadMs)}, catch-up ${seconds(tm.catchUpMs)}, verify ${seconds(tm.verifyMs)}; total ${seconds(tm.totalMs)}.`,
  );
  return lines;
}

export function renderKept(k: KeptEnvironment): string[] {
  return [
    'Everything keeps running until you press Ctrl-C (then it is all cleaned up):',
    `  CockroachDB (SIMULATED)  ${k.crdb}`,
    `  target                   ${k.target}`,
    `  staging                  ${k.staging}  (schema ${k.stagingSchema}: the engine's failback_* tables)`,
    `  emulator backing store   ${k.crdbBacking}`,
    `  state folder             ${k.stateDir}`,
    `  engine metrics           ${k.metricsUrl}`,
    `  engine log               ${k.engineLog}`,
    'Try:',
    ...k.commands.map((c) => `  ${c}`),
  ];
}
