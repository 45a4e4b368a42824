/**
 * Ordering items that depend on one another (rows of a self-referencing table): a stable topological
 * order and a depth per item. Pure functions over indices; no SQL, no I/O.
 */

/** One way items refer to each other: item i depends on item j when child[i] equals parent[j]. */
export interface ValueLink {
  /** Per item, the text of the values it refers with; undefined when it refers to nothing. */
  readonly child: readonly (string | undefined)[];
  /** Per item, the text of the values others refer to it by; undefined when none. */
  readonly parent: readonly (string | undefined)[];
}

/**
 * deps[i]: the items item i refers to through any link (never i itself). When several items carry the
 * same parent text (a unique key cannot, so only with repeated rows), the first one stands for all.
 */
export function parentsByValue(count: number, links: readonly ValueLink[]): number[][] {
  const deps: number[][] = Array.from({ length: count }, () => []);
  for (const link of links) {
    const owner = new Map<string, number>();
    for (let j = 0; j < count; j++) {
      const t = link.parent[j];
      if (t !== undefined && !owner.has(t)) owner.set(t, j);
    }
    for (let i = 0; i < count; i++) {
      const t = link.child[i];
      const j = t === undefined ? undefined : owner.get(t);
      if (j !== undefined && j !== i && !deps[i]!.includes(j)) deps[i]!.push(j);
    }
  }
  return deps;
}

/** The reverse relation: who depends on each item, in index order. */
export function dependents(deps: readonly (readonly number[])[]): number[][] {
  const out: number[][] = Array.from({ length: deps.length }, () => []);
  deps.forEach((ds, i) => {
    for (const d of ds) out[d]!.push(i);
  });
  return out;
}

/**
 * Every item after the items it depends on, otherwise in index order: a depth-first walk from each item
 * in turn places its dependencies just before it, so an item moves ahead only when something needs it.
 * depth[i] is 0 for an item with no dependency, else one more than its deepest dependency.
 *
 * A dependency cycle cannot be ordered: the walk drops the dependency that closes it (the one leading
 * back to an item still on the walk's path), so the result is deterministic, always finite, and each
 * item appears once. Iterative, so long chains cannot overflow the stack. O(items + dependencies).
 */
export function dependencyOrder(deps: readonly (readonly number[])[]): { order: number[]; depth: Uint32Array } {
  const n = deps.length;
  // 0: not reached, 1: on the current path, 2: placed.
  const state = new Uint8Array(n);
  const next = new Uint32Array(n);
  const depth = new Uint32Array(n);
  const order: number[] = [];
  const path: number[] = [];
  for (let root = 0; root < n; root++) {
    if (state[root] !== 0) continue;
    state[root] = 1;
    path.push(root);
    while (path.length > 0) {
      const v = path[path.length - 1]!;
      const ds = deps[v]!;
      if (next[v]! < ds.length) {
        const d = ds[next[v]++]!;
        if (state[d] === 0) {
          state[d] = 1;
          path.push(d);
        }
        continue;
      }
      path.pop();
      state[v] = 2;
      // A dependency still on the path is the one that closed a cycle: it does not count.
      let dv = 0;
      for (const d of ds) if (state[d] === 2 && d !== v) dv = Math.max(dv, depth[d]! + 1);
      depth[v] = dv;
      order.push(v);
    }
  }
  return { order, depth };
}

/** Items grouped by depth, shallowest first, index order within a group. */
export function layersByDepth(depth: Uint32Array): number[][] {
  const layers: number[][] = [];
  depth.forEach((d, i) => (layers[d] ??= []).push(i));
  return layers.filter((l) => l !== undefined);
}
