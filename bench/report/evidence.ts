/**
 * The "where did the time go" block under the goals table: per engine phase, CPU per 1,000 rows of the
 * engine and of the PostgreSQL backends serving it (and the CPU-bound ceiling they imply), the
 * machine's busy cores, the staging and target database counters, and the profile's hottest functions
 * when --profile was on.
 */
import type { CpuCost } from '../phases/cpu-account.js';
import type { EngineEvidence } from '../phases/engine-run.js';
import type { PhaseResults } from './results.js';
import type { ActivityShare } from '../targets/activity-sampler.js';

const MiB = 1024 * 1024;
const n = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');

function cpuLine(label: string, c: CpuCost): string {
  const target = c.msPerKRows.pgTarget === undefined ? '' : `, target DB ${c.msPerKRows.pgTarget}`;
  return (
    `- ${label}: ${c.wallSeconds} s wall, machine busy ${c.machineBusyCores} cores (${c.otherBusyCores} not ours); CPU ms per 1k rows: engine ${c.msPerKRows.engine}, ` +
    `staging DB ${c.msPerKRows.pgStaging}${target} (bench ${c.benchSeconds} s in all) => CPU-bound ceiling ~${n(c.cpuCeilingRowsPerSecond)} rows/s`
  );
}

function activityLines(label: string, shares: readonly ActivityShare[] | undefined): string[] {
  if (!shares || shares.length === 0) return [];
  return [
    `- ${label} (per 100 ms sample with any engine statement running, how often each ran; >100% = several backends at once):`,
    ...shares.slice(0, 4).map((a) => `  - ${a.percent}% [${a.topWait}] \`${a.query.slice(0, 110)}\``),
  ];
}

function block(name: string, e: EngineEvidence, extraCpu: readonly [string, CpuCost][] = [], before: readonly string[] = []): string {
  const lines = [
    `**${name}**: engine peak RSS ${e.peakRssBytes ? Math.round(e.peakRssBytes / MiB) : '?'} MiB; exit ${e.exit.code}` +
      `${e.exit.graceful ? '' : ' (killed after the grace period)'}; 503 answers ${e.http503 ?? 'n/a'}`,
    cpuLine('whole phase', e.cpu),
    `- engine metric target_applied_timestamp_seconds ${e.appliedTimestampSeconds ?? 'absent'} ` +
      `(last resolved sent: ${e.expectedAppliedSeconds}${e.appliedTimestampSeconds !== undefined && Math.abs(e.appliedTimestampSeconds - e.expectedAppliedSeconds) < 0.002 ? ', agrees' : ', DISAGREES'})`,
    ...extraCpu.map(([label, c]) => cpuLine(label, c)),
  ];
  const s = e.pg.staging;
  if (s) {
    lines.push(
      `- staging DB: ${s.xactCommit} commits, ${s.tupInserted} inserted / ${s.tupUpdated} updated / ${s.tupDeleted} deleted / ` +
        `${s.tupReturned} returned tuples, ${s.activeTimeMs} ms executing`,
    );
  }
  const busiest = e.pg.stagingIndexes?.[0];
  if (busiest && busiest.tupRead > 0) {
    lines.push(`- busiest staging index: ${busiest.index}, ${busiest.scans} scans reading ${busiest.tupRead} entries (${Math.round(busiest.tupRead / Math.max(1, e.cpu.rows))} per row sent)`);
  }
  const t = e.pg.target;
  if (t) {
    lines.push(
      `- target DB: ${t.xactCommit} commits, ${t.tupInserted} inserted / ${t.tupUpdated} updated / ${t.tupDeleted} deleted, ${t.activeTimeMs} ms executing`,
    );
  }
  lines.push(...before, ...activityLines(before.length > 0 ? 'database activity while applying' : 'database activity', e.pg.activity));
  for (const st of e.pg.statements ?? []) lines.push(`- ${st.totalMs} ms in ${st.calls} calls: \`${st.query.slice(0, 120)}\``);
  if (e.profile) {
    lines.push(
      `- profile ${e.profile.file}${e.profile.windowed ? ' (measured part only)' : ''}: busy ${e.profile.busyMs} ms, idle ${e.profile.idleMs} ms; hottest self time:`,
    );
    for (const f of e.profile.topFunctions.slice(0, 8)) lines.push(`  - ${f.percent}% ${f.name}`);
  }
  return lines.join('\n');
}

export function evidenceMarkdown(results: PhaseResults): string {
  const out: string[] = [];
  if (results.backlog) out.push(block('backlog', results.backlog.engine));
  if (results.freshness) out.push(block('freshness', results.freshness.engine));
  if (results.memory) {
    const m = results.memory;
    const staging = activityLines('database activity while staging', m.stagingActivity);
    out.push(block('memory', m.engine, [['staging only', m.stagingCpu], ['apply only', m.applyCpu]], staging));
  }
  return out.join('\n\n');
}
