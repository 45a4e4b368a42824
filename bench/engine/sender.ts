/**
 * Drives a changefeed into the engine: K workers post bodies in order of their index, and a single
 * lane posts each window's resolved timestamp as soon as every body up to that window's last body has
 * been acknowledged (the guarantee CockroachDB gives: nothing new at or below a resolved timestamp
 * follows it). Bodies and windows may be appended while it runs (the real-time phase). With
 * `holdResolved`, resolved messages wait for release(): rows are staged but nothing may be applied.
 */
import type { Body, Window } from '../workload/feed.js';
import type { WebhookClient } from './webhook-client.js';

export interface SendTimes {
  /** performance.now() of the first body POST, and of the last body's 200. */
  firstPostAt: number;
  lastAckAt: number;
  /** Per window index: when its resolved POST was sent and when it was acknowledged. */
  readonly resolvedSentAt: number[];
  readonly resolvedAckAt: number[];
}

export class Sender {
  readonly times: SendTimes = { firstPostAt: Number.NaN, lastAckAt: Number.NaN, resolvedSentAt: [], resolvedAckAt: [] };
  private readonly bodies: Body[] = [];
  private readonly windows: Window[] = [];
  private nextBody = 0;
  private readonly acked: boolean[] = [];
  /** Bodies 0..ackedPrefix-1 are all acknowledged. */
  private ackedPrefix = 0;
  private nextWindow = 0;
  private closed = false;
  private held: boolean;
  private failure: Error | undefined;
  private wake: (() => void)[] = [];
  private readonly workers: Promise<void>[];
  private readonly resolvedLane: Promise<void>;

  constructor(
    private readonly client: WebhookClient,
    connections: number,
    holdResolved: boolean,
  ) {
    this.held = holdResolved;
    this.workers = Array.from({ length: connections }, () => this.worker());
    this.resolvedLane = this.postResolveds();
  }

  add(bodies: readonly Body[], windows: readonly Window[]): void {
    this.bodies.push(...bodies);
    this.windows.push(...windows);
    this.notify();
  }

  /** No more bodies or windows will be added. */
  close(): void {
    this.closed = true;
    this.notify();
  }

  /** Lets held resolved messages go. */
  release(): void {
    this.held = false;
    this.notify();
  }

  /** The first error a worker or the resolved lane hit, if any. */
  get error(): Error | undefined {
    return this.failure;
  }

  /** Bodies added but not yet acknowledged (a growing number means the engine cannot keep up). */
  get backlog(): number {
    return this.bodies.length - this.ackedPrefix;
  }

  /** Resolves when every body is acknowledged (resolved messages may still be pending). */
  async bodiesDone(): Promise<void> {
    await Promise.all(this.workers);
    if (this.failure) throw this.failure;
  }

  /** Resolves when every window's resolved message is acknowledged. */
  async done(): Promise<void> {
    await this.bodiesDone();
    await this.resolvedLane;
    if (this.failure) throw this.failure;
  }

  private notify(): void {
    const waiting = this.wake;
    this.wake = [];
    for (const w of waiting) w();
  }

  private waitForChange(): Promise<void> {
    return new Promise((resolve) => this.wake.push(resolve));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.closed = true;
    this.notify();
  }

  private async worker(): Promise<void> {
    for (;;) {
      if (this.failure) return;
      if (this.nextBody >= this.bodies.length) {
        if (this.closed) return;
        await this.waitForChange();
        continue;
      }
      const body = this.bodies[this.nextBody++]!;
      if (Number.isNaN(this.times.firstPostAt)) this.times.firstPostAt = performance.now();
      try {
        await this.client.postBody(body.buffer);
      } catch (err) {
        this.fail(err as Error);
        return;
      }
      this.times.lastAckAt = performance.now();
      this.acked[body.index] = true;
      while (this.acked[this.ackedPrefix]) this.ackedPrefix++;
      this.notify();
    }
  }

  private async postResolveds(): Promise<void> {
    for (;;) {
      if (this.failure) return;
      const window = this.windows[this.nextWindow];
      if (!window) {
        if (this.closed) return;
        await this.waitForChange();
        continue;
      }
      if (this.held || this.ackedPrefix <= window.lastBody) {
        await this.waitForChange();
        continue;
      }
      this.times.resolvedSentAt[window.index] = performance.now();
      try {
        await this.client.postResolved(window.resolved);
      } catch (err) {
        this.fail(err as Error);
        return;
      }
      this.times.resolvedAckAt[window.index] = performance.now();
      this.nextWindow++;
    }
  }
}
