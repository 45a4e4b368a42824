/**
 * webhook_sink_config Flush semantics: a batch is sent when it holds Messages messages or Bytes
 * bytes, or Frequency after its FIRST message arrived; a zero field counts as infinity once any is
 * set, and all zero means every message is sent on its own immediately.
 */
import type { EncodedMessage } from './encoder.js';

export interface FlushConfig {
  messages: number;
  bytes: number;
  frequencyMs: number;
}

export class Batcher {
  private items: EncodedMessage[] = [];
  private size = 0;
  private firstAt = 0;

  constructor(private readonly cfg: FlushConfig) {}

  add(m: EncodedMessage, now = Date.now()): void {
    if (this.items.length === 0) this.firstAt = now;
    this.items.push(m);
    this.size += Buffer.byteLength(m.text);
  }

  /** Size or count threshold reached (or no batching configured at all). */
  get full(): boolean {
    const c = this.cfg;
    if (this.items.length === 0) return false;
    if (c.messages === 0 && c.bytes === 0 && c.frequencyMs === 0) return true;
    return (c.messages > 0 && this.items.length >= c.messages) || (c.bytes > 0 && this.size >= c.bytes);
  }

  /** The oldest message has waited Frequency. */
  due(now = Date.now()): boolean {
    return this.items.length > 0 && this.cfg.frequencyMs > 0 && now - this.firstAt >= this.cfg.frequencyMs;
  }

  get length(): number {
    return this.items.length;
  }

  take(): EncodedMessage[] {
    const out = this.items;
    this.items = [];
    this.size = 0;
    return out;
  }
}
