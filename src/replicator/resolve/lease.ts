/**
 * Keeps one named lease in staging: acquire, renew in the background, and notice loss. While held, the
 * keeper exposes an AbortSignal that fires when the lease can no longer be trusted (renewal refused, or
 * not renewed in time), so an apply in flight is rolled back rather than committed by a process that
 * another instance may already have replaced.
 *
 * Each acquisition uses a fresh holder id, so a process that lost the lease and later wins it again can
 * never be confused with its former self when staging fences the "mark applied" write.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../../lib/log.js';
import type { LeaseStore } from './ports.js';

export interface LeaseTimings {
  /** Lease lifetime in staging. Another instance takes over at most this long after the holder dies. */
  ttlMs: number;
  /** Renewal cadence. */
  renewEveryMs: number;
  /** Safety margin: the holder stops trusting its lease this long before staging would expire it. */
  guardMs: number;
}

export const DEFAULT_LEASE_TIMINGS: LeaseTimings = { ttlMs: 5000, renewEveryMs: 1000, guardMs: 1500 };

export class LeaseKeeper {
  private holderId?: string;
  private validUntil = 0;
  private controller?: AbortController;
  private renewTimer?: NodeJS.Timeout;
  private expiryTimer?: NodeJS.Timeout;
  private renewing = false;

  constructor(
    private readonly store: LeaseStore,
    readonly name: string,
    private readonly log: Logger,
    private readonly timings: LeaseTimings = DEFAULT_LEASE_TIMINGS,
    private readonly now: () => number = Date.now,
  ) {}

  /** True while the lease is held and trusted. */
  get held(): boolean {
    return this.holderId !== undefined && this.now() < this.validUntil;
  }

  /** The current holder id (only meaningful while held). */
  get holder(): string | undefined {
    return this.holderId;
  }

  /** Fires when the lease is lost; a fresh signal per acquisition. */
  get signal(): AbortSignal {
    return this.controller?.signal ?? AbortSignal.abort(new Error('lease not held'));
  }

  /** Tries once to take the lease; true when held afterwards. Staging errors propagate. */
  async tryAcquire(): Promise<boolean> {
    if (this.held) return true;
    const id = `${hostname()}/${process.pid}/${randomUUID()}`;
    const t0 = this.now();
    const ok = await this.store.acquire(this.name, id, this.timings.ttlMs);
    if (!ok) return false;
    this.holderId = id;
    this.controller = new AbortController();
    this.extend(t0);
    this.renewTimer = setInterval(() => void this.renew(), this.timings.renewEveryMs);
    this.renewTimer.unref();
    this.log.info({ lease: this.name }, 'apply lease acquired');
    return true;
  }

  private extend(t0: number): void {
    this.validUntil = t0 + this.timings.ttlMs - this.timings.guardMs;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(() => {
      if (this.now() >= this.validUntil) this.lose('not renewed in time (staging unreachable?)');
    }, Math.max(0, this.validUntil - this.now()) + 5);
    this.expiryTimer.unref();
  }

  private async renew(): Promise<void> {
    if (this.renewing || !this.holderId) return;
    this.renewing = true;
    const id = this.holderId;
    const t0 = this.now();
    try {
      const ok = await this.store.renew(this.name, id, this.timings.ttlMs);
      if (this.holderId !== id) return;
      if (ok) this.extend(t0);
      else this.lose('taken over by another instance');
    } catch (err) {
      // Keep trying until the local deadline passes; the expiry timer handles the loss.
      this.log.warn({ lease: this.name, err: (err as Error).message }, 'lease renewal failed');
    } finally {
      this.renewing = false;
    }
  }

  private lose(reason: string): void {
    if (!this.holderId) return;
    this.log.warn({ lease: this.name, reason }, 'apply lease lost');
    this.clear(new Error(`apply lease lost: ${reason}`));
  }

  private clear(reason: Error): void {
    this.holderId = undefined;
    this.validUntil = 0;
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.renewTimer = undefined;
    this.expiryTimer = undefined;
    this.controller?.abort(reason);
  }

  /** Forgets the lease locally (e.g. after staging refused a fenced write). */
  drop(reason: string): void {
    this.lose(reason);
  }

  /** Releases the lease in staging (best effort) and stops renewing. Idempotent. */
  async release(): Promise<void> {
    const id = this.holderId;
    this.clear(new Error('apply lease released'));
    if (!id) return;
    try {
      await this.store.release(this.name, id);
      this.log.info({ lease: this.name }, 'apply lease released');
    } catch (err) {
      this.log.warn({ lease: this.name, err: (err as Error).message }, 'could not release the apply lease; it expires by itself');
    }
  }
}
