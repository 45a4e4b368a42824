/**
 * verifyTables: the whole comparison. Resolves every table on both sides first (so a misspelt table is
 * reported before minutes of reading), then verifies the tables one by one and assembles the report.
 * Read-only on both sides; safe to run while the failback replicates.
 */
import { AppError, ExitCode } from '../lib/errors.js';
import { silentLogger } from '../lib/log.js';
import type { SchemaInfo, TableInfo, TargetSchema } from '../replicator/types.js';
import { openSide, roleLabel, type OpenSide, type Role } from './endpoints.js';
import { keyToJson, type CanonicalKey } from './order.js';
import { planTable, projectRow, type TablePlan } from './shape.js';
import { verifyTableRows } from './table.js';
import type { SchemaComparison, TableReport, VerifyOptions, VerifyReport } from './types.js';
import { KeyOrderError, type PageReader } from './walk.js';

export const VERIFY_DEFAULTS = {
  chunkSize: 1000,
  maxDiffs: 100,
  recheckIntervalMs: 2000,
  settleTimeoutMs: 30_000,
} as const;

interface ResolvedTable {
  readonly name: string;
  /** Schemas as the catalogs spell them (introspect's answer), for readRows. */
  readonly sourceSchema: TargetSchema;
  readonly targetSchema: TargetSchema;
  readonly source: TableInfo;
  /** Undefined when the table does not exist on the target. */
  readonly target?: TableInfo;
}

export async function verifyTables(options: VerifyOptions): Promise<VerifyReport> {
  const settings = checkSettings(options);
  const log = options.log ?? silentLogger();
  const startedAt = new Date();
  const opened: OpenSide[] = [];
  try {
    const source = await openSide(options.source, 'source', log);
    opened.push(source);
    const target = await openSide(options.target, 'target', log);
    opened.push(target);
    const resolved = await resolveTables(options.tables, source, target);

    const tables: TableReport[] = [];
    for (const table of resolved) {
      options.signal?.throwIfAborted();
      options.onProgress?.({ kind: 'table-start', table: table.name });
      const report = await verifyOne(table, source, target, { ...options, ...settings });
      tables.push(report);
      options.onProgress?.({ kind: 'table-done', table: table.name, report });
    }
    const mismatched = tables.filter((t) => t.verdict === 'mismatch').length;
    return {
      verdict: mismatched === 0 ? 'equal' : 'mismatch',
      tables,
      totals: {
        tables: tables.length,
        mismatchedTables: mismatched,
        sourceRows: tables.reduce((n, t) => n + (t.rows.source ?? 0), 0),
        targetRows: tables.reduce((n, t) => n + (t.rows.target ?? 0), 0),
        differences: tables.reduce((n, t) => n + t.differences.total, 0),
      },
      settings,
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
    };
  } finally {
    for (const side of opened.reverse()) await side.close().catch(() => {});
  }
}

function checkSettings(o: VerifyOptions): VerifyReport['settings'] {
  const s = {
    chunkSize: o.chunkSize ?? VERIFY_DEFAULTS.chunkSize,
    maxDiffs: o.maxDiffs ?? VERIFY_DEFAULTS.maxDiffs,
    recheckIntervalMs: o.recheckIntervalMs ?? VERIFY_DEFAULTS.recheckIntervalMs,
    settleTimeoutMs: o.settleTimeoutMs ?? VERIFY_DEFAULTS.settleTimeoutMs,
    showValues: o.showValues ?? false,
  };
  const problems: string[] = [];
  if (!Number.isInteger(s.chunkSize) || s.chunkSize < 1) problems.push('chunk size must be a whole number of rows, at least 1');
  if (!Number.isInteger(s.maxDiffs) || s.maxDiffs < 0) problems.push('max diffs must be a whole number, 0 or more');
  if (!(s.recheckIntervalMs > 0)) problems.push('recheck interval must be longer than 0');
  if (!(s.settleTimeoutMs >= 0)) problems.push('settle timeout must be 0 or longer');
  if (o.tables.length === 0) problems.push('no table to verify');
  if (problems.length > 0) {
    throw new AppError('VERIFY_OPTIONS', `Invalid verify options: ${problems.join('; ')}.`, { exitCode: ExitCode.USAGE, data: { problems } });
  }
  return s;
}

/** Finds every table on both sides; tables or schemas missing on CockroachDB are configuration errors. */
async function resolveTables(names: readonly string[], source: OpenSide, target: OpenSide): Promise<ResolvedTable[]> {
  const catalogs = new Map<string, Promise<SchemaInfo | undefined>>();
  const catalog = (side: OpenSide, schema: TargetSchema) => {
    const id = `${side === source ? 's' : 't'}:${schema.key}`;
    let info = catalogs.get(id);
    if (!info) catalogs.set(id, (info = side.pool.introspect(schema)));
    return info;
  };
  const problems: string[] = [];
  const targetCatalog = await catalog(target, target.schema);
  if (!targetCatalog) problems.push(`the target schema ${target.schema.parts.join('.')} does not exist`);
  const out: ResolvedTable[] = [];
  for (const name of [...new Set(names)]) {
    const dot = name.lastIndexOf('.');
    const bare = dot < 0 ? name : name.slice(dot + 1);
    const sourceSchema = dot < 0 ? source.schema : source.schemaFor(name.slice(0, dot));
    const sourceCatalog = await catalog(source, sourceSchema);
    const info = sourceCatalog?.tables.get(bare.toLowerCase());
    if (!sourceCatalog) problems.push(`${name}: the schema ${sourceSchema.parts.join('.')} does not exist on CockroachDB`);
    else if (!info) problems.push(`${name}: no such table in ${sourceSchema.parts.join('.')} on CockroachDB`);
    else if (targetCatalog) {
      const target = targetCatalog.tables.get(bare.toLowerCase());
      out.push({ name, sourceSchema: sourceCatalog.schema, targetSchema: targetCatalog.schema, source: info, target });
    }
  }
  if (problems.length > 0) {
    throw new AppError('VERIFY_TABLES', `Cannot verify:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      exitCode: ExitCode.USAGE,
      actions: ['Name tables as they are named on CockroachDB (table or schema.table), and check crdb.conn, target.conn and target.schema.'],
      data: { problems },
    });
  }
  return out;
}

type Settings = VerifyOptions & VerifyReport['settings'];

/** The schema comparison of a table that exists on CockroachDB only. */
function absentOnTarget(table: ResolvedTable, target: OpenSide): SchemaComparison {
  return {
    primaryKey: { source: [...table.source.primaryKey], target: [] },
    columnsOnlyInSource: [],
    columnsOnlyInTarget: [],
    problems: [`the table does not exist in ${target.schema.parts.join('.')} on the target`],
    notes: [],
  };
}

async function verifyOne(table: ResolvedTable, source: OpenSide, target: OpenSide, o: Settings): Promise<TableReport> {
  const { schema, plan } = table.target ? planTable(table.source, table.target) : { schema: absentOnTarget(table, target), plan: undefined };
  const base = { table: table.name, schema, rechecks: 0 };
  if (!plan || !table.target) {
    // Rows cannot be matched by key; still count each side so the report shows the sizes.
    const sourceRows = await countRows(source, table.sourceSchema, table.source, o.chunkSize);
    const targetRows = table.target ? await countRows(target, table.targetSchema, table.target, o.chunkSize) : null;
    return {
      ...base,
      verdict: 'mismatch',
      rows: { source: sourceRows, target: targetRows },
      chunks: { compared: 0, differing: 0 },
      differences: { missing: 0, extra: 0, changed: 0, total: 0, settled: 0, listed: [], truncated: false },
    };
  }
  try {
    const r = await verifyTableRows({
      table: table.name,
      plan,
      readSource: pageReader(source, table.sourceSchema, table.source, plan, 'source'),
      readTarget: pageReader(target, table.targetSchema, table.target, plan, 'target'),
      chunkSize: o.chunkSize,
      maxDiffs: o.maxDiffs,
      recheckIntervalMs: o.recheckIntervalMs,
      settleTimeoutMs: o.settleTimeoutMs,
      showValues: o.showValues,
      signal: o.signal,
      onProgress: o.onProgress,
    });
    const totalDiffs = r.counts.missing + r.counts.extra + r.counts.changed;
    return {
      ...base,
      verdict: totalDiffs === 0 && schema.problems.length === 0 ? 'equal' : 'mismatch',
      rows: r.rows,
      chunks: r.chunks,
      rechecks: r.rechecks,
      differences: { ...r.counts, total: totalDiffs, settled: r.settled, listed: r.listed, truncated: r.listed.length < totalDiffs },
    };
  } catch (err) {
    if (err instanceof KeyOrderError) {
      throw new AppError('VERIFY_KEY_ORDER', `Cannot verify ${table.name}: ${err.message}.`, {
        exitCode: ExitCode.FAILED,
        cause: err,
        actions: [
          `${roleLabel(err.side)} sorts this primary key differently from CockroachDB (typically a text key under a case-insensitive or linguistic collation).`,
          'Report it: readRows must order keys by their binary (code point) order on every dialect.',
        ],
      });
    }
    throw err;
  }
}

function pageReader(side: OpenSide, schema: TargetSchema, info: TableInfo, plan: TablePlan, role: Role): PageReader {
  const classes = role === 'source' ? plan.sourceKeyClasses : plan.targetKeyClasses;
  return async (after, limit) => {
    const rows = await side.pool.readRows(schema, info, { after: after && keyToJson(after, classes), limit });
    return rows.map((row) => projectRow(plan, row, role));
  };
}

/** Counts a table's rows by paging through its own primary key (columns come key first). */
async function countRows(side: OpenSide, schema: TargetSchema, info: TableInfo, chunkSize: number): Promise<number | null> {
  const keyLength = info.primaryKey.length;
  if (keyLength === 0) return null;
  const classes = info.columns.slice(0, keyLength).map((c) => c.class);
  let after: CanonicalKey | undefined;
  let count = 0;
  for (;;) {
    const rows = await side.pool.readRows(schema, info, { after: after && keyToJson(after, classes), limit: chunkSize });
    count += rows.length;
    const last = rows[rows.length - 1];
    if (rows.length < chunkSize || !last) return count;
    after = last.slice(0, keyLength).map((v) => v ?? '');
  }
}
