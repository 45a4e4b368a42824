/**
 * Foreign-key analysis of a target schema: a level per table (0 = references nothing, a child is one
 * deeper than its deepest parent), the connected components ("table groups") that may be applied
 * independently, and the tables whose level cannot be computed because they sit in or below a cycle.
 * Self-references are ignored here, as in MOLT Replicator: table order cannot help a row that
 * references its own table. The rows of such a table are ordered among themselves by apply/self-fk.ts.
 */
import type { SchemaInfo } from '../types.js';

export interface FkGraph {
  /** Lower-cased table name -> level (absent for tables in or below a cycle). */
  readonly level: ReadonlyMap<string, number>;
  /** Lower-cased table name -> component id (tables linked by foreign keys share an id). */
  readonly component: ReadonlyMap<string, number>;
  /** Tables in or below an FK cycle (lower-cased), sorted. */
  readonly cyclic: readonly string[];
}

export function analyzeForeignKeys(info: SchemaInfo | undefined): FkGraph {
  const level = new Map<string, number>();
  const component = new Map<string, number>();
  if (!info) return { level, component, cyclic: [] };
  const tables = [...info.tables.keys()];
  const parents = new Map<string, Set<string>>();
  const children = new Map<string, Set<string>>();
  for (const t of tables) {
    parents.set(t, new Set());
    children.set(t, new Set());
  }
  for (const e of info.foreignKeys) {
    const c = e.child.toLowerCase();
    const p = e.parent.toLowerCase();
    if (c === p) continue;
    // An edge to a table outside this schema (cross-schema FK) cannot be ordered here; ignore it.
    if (!parents.has(c) || !parents.has(p)) continue;
    parents.get(c)?.add(p);
    children.get(p)?.add(c);
  }

  // Kahn's algorithm: a table gets its level once all its parents have one.
  const remaining = new Map<string, number>();
  const queue: string[] = [];
  for (const t of tables) {
    const n = parents.get(t)?.size ?? 0;
    remaining.set(t, n);
    if (n === 0) {
      queue.push(t);
      level.set(t, 0);
    }
  }
  while (queue.length > 0) {
    const t = queue.shift() as string;
    const lt = level.get(t) as number;
    for (const c of children.get(t) ?? []) {
      level.set(c, Math.max(level.get(c) ?? 0, lt + 1));
      const left = (remaining.get(c) as number) - 1;
      remaining.set(c, left);
      if (left === 0) queue.push(c);
    }
  }
  const cyclic = tables.filter((t) => (remaining.get(t) ?? 0) > 0).sort();
  for (const t of cyclic) level.delete(t);

  // Components over undirected edges (union-find).
  const parent = new Map<string, string>(tables.map((t) => [t, t]));
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r) as string;
    let y = x;
    while (parent.get(y) !== r) {
      const next = parent.get(y) as string;
      parent.set(y, r);
      y = next;
    }
    return r;
  };
  for (const [c, ps] of parents) for (const p of ps) parent.set(find(c), find(p));
  const ids = new Map<string, number>();
  for (const t of [...tables].sort()) {
    const root = find(t);
    if (!ids.has(root)) ids.set(root, ids.size);
    component.set(t, ids.get(root) as number);
  }
  return { level, component, cyclic };
}
