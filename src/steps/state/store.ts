/**
 * State storage. The contract is tiny (read, write, lock) so tests can use the in-memory store.
 * The file store writes atomically (temp file, fsync, rename, fsync of the folder), with mode 0600,
 * and takes an exclusive lock file (created with O_EXCL) so two runs never interleave.
 */
import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { hostname } from 'node:os';
import { AppError, ExitCode } from '../../lib/errors.js';
import { writeFileAtomic } from '../lib/files.js';
import { StateSchema, STATE_VERSION, type FailbackState } from './schema.js';

/** An unreadable lock file older than this was left by a run that died while creating it. */
const UNREADABLE_LOCK_STALE_MS = 10_000;

export interface StateStore {
  /** Where the state lives (for messages); "memory" for the in-memory store. */
  readonly location: string;
  /** Reads and validates the state; undefined when none exists yet. */
  read(): FailbackState | undefined;
  /** Validates and persists the state durably. */
  write(state: FailbackState): void;
  /** Takes the exclusive lock; throws LOCK_HELD when another live process holds it. */
  lock(): () => void;
}

function validate(data: unknown, where: string): FailbackState {
  const version = (data as { version?: unknown } | null)?.version;
  if (version !== STATE_VERSION) {
    throw new AppError('STATE_VERSION', `${where} has state version ${JSON.stringify(version)}; this molt-failback reads version ${STATE_VERSION}.`, {
      exitCode: ExitCode.STATE,
      actions: ['Use the molt-failback release that wrote this state, or move the file aside to start over (the steps re-check the real systems).'],
    });
  }
  const parsed = StateSchema.safeParse(data);
  if (!parsed.success) {
    throw new AppError('STATE_INVALID', `${where} is not a valid molt-failback state file: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, {
      exitCode: ExitCode.STATE,
      actions: ['Restore it from a backup or move it aside; the steps re-check the real systems on the next run.'],
    });
  }
  return parsed.data;
}

export class MemoryStateStore implements StateStore {
  readonly location = 'memory';
  private data?: string;
  private locked = false;
  read(): FailbackState | undefined {
    return this.data === undefined ? undefined : validate(JSON.parse(this.data), 'memory state');
  }
  write(state: FailbackState): void {
    validate(state, 'memory state');
    this.data = JSON.stringify(state);
  }
  lock(): () => void {
    if (this.locked) throw new AppError('LOCK_HELD', 'The in-memory state is already locked.', { exitCode: ExitCode.STATE });
    this.locked = true;
    return () => {
      this.locked = false;
    };
  }
}

interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
}

export class FileStateStore implements StateStore {
  constructor(readonly location: string) {}

  private get lockPath(): string {
    return `${this.location}.lock`;
  }

  read(): FailbackState | undefined {
    if (!existsSync(this.location)) return undefined;
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(this.location, 'utf8'));
    } catch (err) {
      throw new AppError('STATE_INVALID', `${this.location} could not be read as JSON (${(err as Error).message}).`, {
        exitCode: ExitCode.STATE,
        actions: ['Move the file aside to start over; the steps re-check the real systems on the next run.'],
      });
    }
    return validate(data, this.location);
  }

  write(state: FailbackState): void {
    writeFileAtomic(this.location, `${JSON.stringify(validate(state, 'the new state'), null, 2)}\n`, 0o600);
  }

  lock(): () => void {
    mkdirSync(dirname(this.location), { recursive: true, mode: 0o700 });
    const info: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.lockPath, 'wx', 0o600);
        writeSync(fd, JSON.stringify(info));
        closeSync(fd);
        let released = false;
        return () => {
          if (released) return;
          released = true;
          try {
            unlinkSync(this.lockPath);
          } catch {
            // Already gone: nothing to release.
          }
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const holder = this.readLock();
        // No readable holder: either a run is writing it this instant, or one died between creating and
        // writing it. The second leaves it unchanged for good, so an old unreadable lock is stale.
        const abandoned = !holder && this.lockAgeMs() > UNREADABLE_LOCK_STALE_MS;
        if (abandoned || (holder && holder.host === hostname() && !pidAlive(holder.pid))) {
          // The holder died without releasing (kill -9, power loss): the lock is stale; take it over.
          try {
            unlinkSync(this.lockPath);
          } catch {
            // Raced with another process cleaning it: retry the exclusive create.
          }
          continue;
        }
        throw new AppError(
          'LOCK_HELD',
          `Another molt-failback run holds ${this.lockPath}${holder ? ` (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt})` : ''}.`,
          {
            exitCode: ExitCode.STATE,
            actions: ['Wait for that run to finish, or stop it.', `If no run is active (e.g. on another host that crashed), delete ${this.lockPath}.`],
          },
        );
      }
    }
    throw new AppError('LOCK_HELD', `Could not take the lock ${this.lockPath}.`, { exitCode: ExitCode.STATE });
  }

  private lockAgeMs(): number {
    try {
      return Date.now() - statSync(this.lockPath).mtimeMs;
    } catch {
      return 0;
    }
  }

  private readLock(): LockInfo | undefined {
    try {
      return JSON.parse(readFileSync(this.lockPath, 'utf8')) as LockInfo;
    } catch {
      return undefined;
    }
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
