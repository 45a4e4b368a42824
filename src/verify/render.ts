/**
 * The human rendering of a VerifyReport (the CLI prints it; the sandbox reuses it). Shows keys and
 * column names; values only appear when the report carries them (showValues).
 */
import type { RowDifference, RowValues, TableReport, VerifyReport } from './types.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

// Plain tokens stay bare (id=17); anything that could be misread (spaces, commas, quotes, empty) is quoted.
const showValue = (v: string | null) => (v === null ? 'NULL' : /^[\w.:+\-]+$/.test(v) ? v : JSON.stringify(v));
const showRow = (row: RowValues) =>
  Object.entries(row)
    .map(([k, v]) => `${k}=${showValue(v)}`)
    .join(', ');

function renderDifference(d: RowDifference): string[] {
  const lines = [`    ${d.kind.padEnd(7)}  ${showRow(d.key)}${d.columns ? `  (columns: ${d.columns.join(', ')})` : ''}`];
  if (d.source) lines.push(`             CockroachDB: ${showRow(d.source)}`);
  if (d.target) lines.push(`             target:      ${showRow(d.target)}`);
  return lines;
}

function renderTable(t: TableReport, width: number): string[] {
  const rows = (n: number | null) => (n === null ? 'absent' : String(n));
  const d = t.differences;
  const head =
    `  ${t.table.padEnd(width)}  ${t.verdict === 'equal' ? 'equal   ' : 'MISMATCH'}  ` +
    `rows ${rows(t.rows.source)} / ${rows(t.rows.target)}  ` +
    `chunks ${t.chunks.compared} (${t.chunks.differing} differing)` +
    (d.total > 0 ? `  ${d.missing} missing, ${d.extra} extra, ${d.changed} changed` : '');
  const lines = [head];
  for (const p of t.schema.problems) lines.push(`    schema: ${p}`);
  for (const n of t.schema.notes) lines.push(`    note: ${n}`);
  for (const diff of d.listed) lines.push(...renderDifference(diff));
  if (d.truncated) lines.push(`    ... ${d.total - d.listed.length} more not listed (raise --max-diffs to see them)`);
  if (d.settled > 0) {
    lines.push(`    ${plural(d.settled, 'difference')} went away while re-checking (replication caught up)`);
  }
  return lines;
}

export function renderReport(report: VerifyReport): string {
  const width = Math.max(5, ...report.tables.map((t) => t.table.length));
  const s = report.settings;
  const lines = [
    `Compared CockroachDB with the target: ${plural(report.totals.tables, 'table')}, chunks of ${s.chunkSize} rows` +
      (s.settleTimeoutMs > 0 ? `, differences re-checked for up to ${s.settleTimeoutMs / 1000}s` : ''),
    `  ${'table'.padEnd(width)}  verdict   rows CockroachDB / target`,
    ...report.tables.flatMap((t) => renderTable(t, width)),
    '',
  ];
  const seconds = (report.durationMs / 1000).toFixed(1);
  if (report.verdict === 'equal') {
    lines.push(`Verdict: EQUAL. Every table matches (${report.totals.sourceRows} rows, ${seconds}s).`);
  } else {
    lines.push(
      `Verdict: MISMATCH. ${report.totals.mismatchedTables} of ${plural(report.totals.tables, 'table')} ${report.totals.mismatchedTables === 1 ? 'differs' : 'differ'} ` +
        `(${plural(report.totals.differences, 'differing row')}; ${seconds}s).`,
    );
  }
  return lines.join('\n');
}
