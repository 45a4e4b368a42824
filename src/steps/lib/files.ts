/**
 * Small file helpers for what steps keep in the state folder (certificates, keys, token, pid files).
 * Writes are atomic (temp file, fsync, rename, fsync of the folder) so a crash never leaves half a key
 * behind, and secret files are created 0600 from the start rather than chmod-ed afterwards.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync, chmodSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export function writeFileAtomic(path: string, data: string, mode = 0o600): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', mode);
  try {
    try {
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(tmp, mode);
    renameSync(tmp, path);
  } catch (err) {
    // A full disk or a vanished folder must not leave a half-written temp file behind.
    try {
      unlinkSync(tmp);
    } catch {
      // Never created or already renamed.
    }
    throw err;
  }
  // fsync the folder so the rename itself survives a power loss.
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  }
}

export const readText = (path: string): string | undefined => (existsSync(path) ? readFileSync(path, 'utf8') : undefined);

/** Permission bits of a file, or undefined when it does not exist. */
export function fileMode(path: string): number | undefined {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return undefined;
  }
}

/** Reads a pid file: the first line as a positive integer, or undefined. */
export function readPidFile(path: string): number | undefined {
  const text = readText(path);
  if (text === undefined) return undefined;
  const n = Number(text.trim().split(/\s+/)[0]);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** The last `maxLines` lines of a (log) file, for error messages; empty when unreadable. */
export function tail(path: string, maxLines = 20): string {
  const text = readText(path);
  if (!text) return '';
  return text.trimEnd().split('\n').slice(-maxLines).join('\n');
}
