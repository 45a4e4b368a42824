/**
 * Drain detection over successive scrapes, without a Prometheus server: the runbook's alert is
 * `sum by (schema) (rate(apply_upserts_total) + rate(apply_deletes_total)) == 0`; here a schema is
 * quiet when its applied-row counter has not moved for the whole quiet window. A counter that goes
 * down means the process restarted: its window starts over. Pure logic, no I/O.
 */

export interface DrainSample {
  at: number;
  rows: ReadonlyMap<string, number>;
}

export interface SchemaDrain {
  schema: string;
  /** Rows per second between the last two scrapes. */
  rate: number;
  /** How long the counter has been unchanged (ms), as far as the scrapes show. */
  quietMs: number;
  total: number;
}

export class DrainTracker {
  private readonly samples: DrainSample[] = [];
  /** Per schema: when its counter last changed (or first appeared). */
  private readonly lastChange = new Map<string, number>();
  private firstAt?: number;

  constructor(private readonly quietMs: number) {}

  add(sample: DrainSample): void {
    const prev = this.samples[this.samples.length - 1];
    this.firstAt ??= sample.at;
    for (const [schema, value] of sample.rows) {
      const before = prev?.rows.get(schema);
      if (before === undefined) {
        // A schema seen for the first time: its quiet time counts from now.
        if (!this.lastChange.has(schema)) this.lastChange.set(schema, sample.at);
      } else if (value !== before) {
        this.lastChange.set(schema, sample.at);
      }
    }
    this.samples.push(sample);
    // Keep only what the rate and the window need.
    while (this.samples.length > 2 && (this.samples[1] as DrainSample).at <= sample.at - this.quietMs) this.samples.shift();
  }

  status(): SchemaDrain[] {
    const last = this.samples[this.samples.length - 1];
    const prev = this.samples[this.samples.length - 2];
    if (!last) return [];
    return [...last.rows].map(([schema, total]) => {
      const before = prev?.rows.get(schema);
      const dt = prev ? (last.at - prev.at) / 1000 : 0;
      const rate = before !== undefined && dt > 0 ? Math.max(0, total - before) / dt : 0;
      return { schema, rate, total, quietMs: last.at - (this.lastChange.get(schema) ?? last.at) };
    });
  }

  /** Drained: at least the quiet window has been observed and no schema's counter moved within it. */
  drained(): boolean {
    const last = this.samples[this.samples.length - 1];
    if (!last || this.firstAt === undefined || last.at - this.firstAt < this.quietMs) return false;
    return this.status().every((s) => s.quietMs >= this.quietMs);
  }
}
