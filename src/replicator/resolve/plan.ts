/**
 * Turns one window of staged rows into ApplyPlans (the work of one or more target transactions).
 *
 * - With collapse (the default), only the last mutation of each (table, key) in the window is kept, so
 *   a delete followed by a re-insert becomes one upsert; then all upserts run parent-before-child and all
 *   deletes child-before-parent. The end state equals the source as of the window's upper bound, and
 *   foreign keys hold at every statement because the end state is a consistent source snapshot.
 * - Without collapse, or when the window touches tables in a foreign-key cycle (where no table order
 *   exists), the window is applied source transaction by source transaction (HLC order); each HLC does
 *   its upserts parent-first, then its deletes child-first.
 * - Ops are chunked to flushSize rows. With splitComponents each FK component gets its own plan, so
 *   independent table groups can commit in parallel transactions.
 */
import type { Hlc } from '../../lib/hlc.js';
import type { ApplyOp, ApplyPlan, DeleteRow, SchemaInfo, TargetSchema, UpsertRow } from '../types.js';
import { analyzeForeignKeys, type FkGraph } from './fk.js';
import type { StagedRow } from './ports.js';

export interface PlanInput {
  readonly schema: TargetSchema;
  /** Exclusive lower bound (the applied checkpoint). */
  readonly from: Hlc;
  /** Inclusive upper bound. */
  readonly to: Hlc;
  /** Rows of the window ordered by (HLC, table, key). */
  readonly rows: readonly StagedRow[];
  readonly info: SchemaInfo | undefined;
  /** Precomputed FK analysis of `info` (computed when absent). */
  readonly graph?: FkGraph;
  readonly collapse: boolean;
  readonly flushSize: number;
  readonly splitComponents: boolean;
}

export interface PlanOutput {
  readonly plans: ApplyPlan[];
  /** Rows the plans write (after collapsing). */
  readonly rowCount: number;
  /** Set when the window had to be applied in HLC order although collapse was asked for (FK cycle). */
  readonly hlcOrderReason?: string;
}

interface Entry {
  readonly row: StagedRow;
  /** Catalog spelling when the target knows the table, otherwise as sent. */
  readonly table: string;
  readonly lower: string;
}

interface MutableOp {
  kind: 'upsert' | 'delete';
  table: string;
  lower: string;
  upserts: UpsertRow[];
  deletes: DeleteRow[];
  keys: Set<string>;
}

/** The entries of `group` that are the last of their (table, key), in group order. */
function latestInOrder(group: readonly Entry[], byTable: Map<string, Map<string, Entry>>): Entry[] {
  return group.filter((e) => byTable.get(e.lower)!.get(e.row.key) === e);
}

export function buildPlans(input: PlanInput): PlanOutput {
  const graph = input.graph ?? analyzeForeignKeys(input.info);
  // Table names repeat on every row: resolve each spelling once.
  const names = new Map<string, { lower: string; table: string }>();
  const entries: Entry[] = input.rows.map((row) => {
    let n = names.get(row.table);
    if (!n) {
      const lower = row.table.toLowerCase();
      names.set(row.table, (n = { lower, table: input.info?.tables.get(lower)?.name ?? row.table }));
    }
    return { row, lower: n.lower, table: n.table };
  });

  const cyclicTouched = [...new Set(entries.map((e) => e.lower))].filter((t) => graph.cyclic.includes(t)).sort();
  const byHlc = !input.collapse || cyclicTouched.length > 0;
  const hlcOrderReason =
    input.collapse && cyclicTouched.length > 0
      ? `tables ${cyclicTouched.join(', ')} are in (or below) a foreign-key cycle, so no parent-first order exists; applying source transaction by source transaction (cycle members by name), which needs DEFERRABLE constraints on the target when one transaction writes both sides`
      : undefined;

  const maxLevel = Math.max(0, ...graph.level.values());
  const rank = (lower: string): number => graph.level.get(lower) ?? maxLevel + 1;
  const parentFirst = (a: string, b: string): number => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);

  const ops: MutableOp[] = [];
  let rowCount = 0;

  const emit = (group: readonly Entry[], mergeAcrossGroups: boolean) => {
    // Last mutation per (table, key) within the group wins: rows arrive in HLC order. Keys are kept per
    // table (no combined key string per row); a repeated key moves to its latest position.
    const byTable = new Map<string, Map<string, Entry>>();
    let size = 0;
    let moved = false;
    for (const e of group) {
      let keys = byTable.get(e.lower);
      if (!keys) byTable.set(e.lower, (keys = new Map()));
      if (keys.has(e.row.key)) {
        keys.delete(e.row.key);
        moved = true;
      } else size++;
      keys.set(e.row.key, e);
    }
    // Without repeats the group itself is the list of last mutations, in order.
    const lastOnes: Iterable<Entry> = moved ? latestInOrder(group, byTable) : group;
    const upserts = new Map<string, Entry[]>();
    const deletes = new Map<string, Entry[]>();
    for (const e of lastOnes) {
      const m = e.row.after === null ? deletes : upserts;
      const list = m.get(e.lower);
      if (list) list.push(e);
      else m.set(e.lower, [e]);
    }
    rowCount += size;
    const upsertTables = [...upserts.keys()].sort(parentFirst);
    const deleteTables = [...deletes.keys()].sort(parentFirst).reverse();
    for (const t of upsertTables) append('upsert', upserts.get(t) as Entry[], mergeAcrossGroups);
    for (const t of deleteTables) append('delete', deletes.get(t) as Entry[], mergeAcrossGroups);
  };

  const append = (kind: 'upsert' | 'delete', list: readonly Entry[], merge: boolean) => {
    const first = list[0] as Entry;
    const prev = ops[ops.length - 1];
    // Consecutive source transactions writing the same table the same way share one op unless a key
    // repeats: one multi-row statement must not touch a row twice (PostgreSQL rejects that).
    let target: MutableOp | undefined =
      merge && prev && prev.kind === kind && prev.lower === first.lower && !list.some((e) => prev.keys.has(e.row.key)) ? prev : undefined;
    if (!target) {
      target = { kind, table: first.table, lower: first.lower, upserts: [], deletes: [], keys: new Set() };
      ops.push(target);
    }
    for (const e of list) {
      // Only merged ops are checked for repeated keys.
      if (merge) target.keys.add(e.row.key);
      // The staged row itself is the UpsertRow / DeleteRow (a superset of either): no copy per row.
      if (kind === 'upsert') target.upserts.push(e.row as UpsertRow);
      else target.deletes.push(e.row);
    }
  };

  if (!byHlc) {
    emit(entries, false);
  } else {
    let start = 0;
    for (let i = 1; i <= entries.length; i++) {
      const a = entries[start] as Entry;
      const b = entries[i];
      if (b === undefined || b.row.hlc.nanos !== a.row.hlc.nanos || b.row.hlc.logical !== a.row.hlc.logical) {
        emit(entries.slice(start, i), true);
        start = i;
      }
    }
  }

  // Partition by FK component (one plan each) or keep one plan; then chunk to flushSize.
  const groups = new Map<string, MutableOp[]>();
  for (const op of ops) {
    const comp = input.splitComponents ? String(graph.component.get(op.lower) ?? `unknown:${op.lower}`) : 'all';
    const list = groups.get(comp);
    if (list) list.push(op);
    else groups.set(comp, [op]);
  }
  const plans: ApplyPlan[] = [];
  for (const list of groups.values()) {
    const out: ApplyOp[] = [];
    for (const op of list) {
      const rows: readonly (UpsertRow | DeleteRow)[] = op.kind === 'upsert' ? op.upserts : op.deletes;
      for (let i = 0; i < rows.length; i += input.flushSize) {
        const chunk = rows.slice(i, i + input.flushSize);
        out.push(op.kind === 'upsert' ? { kind: 'upsert', table: op.table, rows: chunk as UpsertRow[] } : { kind: 'delete', table: op.table, rows: chunk as DeleteRow[] });
      }
    }
    if (out.length > 0) plans.push({ schema: input.schema, from: input.from, to: input.to, ops: out });
  }
  return { plans, rowCount, ...(hlcOrderReason ? { hlcOrderReason } : {}) };
}
