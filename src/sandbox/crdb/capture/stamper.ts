/**
 * The background side of change capture: every capturePollMs it stamps committed changes (one HLC
 * per source transaction, see _crdb_emulator.stamp_pass) and so advances the closed timestamp
 * feeds read up to; about once a second it garbage-collects events older than gc.ttlseconds that no
 * unfinished feed still needs; every few seconds it re-checks capture triggers as a safety net for
 * tables created in ways the session could not see (e.g. inside a function). It never blocks on a
 * client transaction: a pass that finds the clock locked is skipped.
 */
import type { Logger } from '../../../lib/log.js';
import type { InternalDb } from '../backend/internal-db.js';

export class Stamper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private ticks = 0;
  private lastError?: string;

  constructor(
    private readonly db: InternalDb,
    private readonly pollMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.pass()
        .then(() => {
          if (this.lastError) this.log.info('crdb emulator: stamping works again');
          this.lastError = undefined;
        })
        .catch((err: Error) => {
          // The backend being down would otherwise log every capturePollMs.
          if (err.message !== this.lastError) this.log.warn({ err: err.message }, 'crdb emulator: stamping pass failed');
          this.lastError = err.message;
        })
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.pollMs);
        });
    };
    tick();
  }

  private async pass(): Promise<void> {
    this.ticks++;
    await this.db.query('SELECT _crdb_emulator.stamp_pass(true)');
    const perSecond = Math.max(1, Math.round(1000 / this.pollMs));
    if (this.ticks % perSecond === 0) await this.db.query('SELECT _crdb_emulator.gc_pass()');
    if (this.ticks % (perSecond * 5) === 0) await this.db.query('CALL _crdb_emulator.install_capture(true)');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
