/**
 * Fault injection for tests of at-least-once receivers: duplicate deliveries, extra latency,
 * periodic forced restarts (re-sending from the last checkpoint, like a CockroachDB job retry), and
 * reordering of messages of different keys inside a batch (per-key order is always kept). The state
 * is shared by every feed of an emulator and may change at any time through setFaults().
 */
export interface FaultOptions {
  duplicateRate?: number;
  delayMs?: number;
  restartEveryMs?: number;
  reorderAcrossKeys?: boolean;
}

export class FaultState {
  private f: Required<FaultOptions> = { duplicateRate: 0, delayMs: 0, restartEveryMs: 0, reorderAcrossKeys: false };
  private readonly listeners = new Set<() => void>();

  constructor(initial?: FaultOptions, private readonly random: () => number = Math.random) {
    if (initial) this.set(initial);
  }

  /** Replaces the fault configuration (unset fields go back to "no fault"). */
  set(f: FaultOptions): void {
    const rate = f.duplicateRate ?? 0;
    if (!(rate >= 0 && rate <= 1)) throw new RangeError('duplicateRate must be between 0 and 1');
    if ((f.delayMs ?? 0) < 0 || (f.restartEveryMs ?? 0) < 0) throw new RangeError('delayMs and restartEveryMs must not be negative');
    this.f = { duplicateRate: rate, delayMs: f.delayMs ?? 0, restartEveryMs: f.restartEveryMs ?? 0, reorderAcrossKeys: f.reorderAcrossKeys ?? false };
    for (const l of this.listeners) l();
  }

  get current(): Readonly<Required<FaultOptions>> {
    return this.f;
  }

  shouldDuplicate(): boolean {
    return this.f.duplicateRate > 0 && this.random() < this.f.duplicateRate;
  }

  onChange(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Shuffles items across keys while every key's items keep their relative order. */
  reorder<T>(items: readonly T[], keyOf: (t: T) => string): T[] {
    if (!this.f.reorderAcrossKeys || items.length < 2) return [...items];
    const queues = new Map<string, T[]>();
    for (const it of items) {
      const k = keyOf(it);
      const q = queues.get(k);
      if (q) q.push(it);
      else queues.set(k, [it]);
    }
    const lanes = [...queues.values()];
    const out: T[] = [];
    while (lanes.length > 0) {
      const i = Math.floor(this.random() * lanes.length);
      const lane = lanes[i] as T[];
      out.push(lane.shift() as T);
      if (lane.length === 0) lanes.splice(i, 1);
    }
    return out;
  }
}
