/**
 * Where this CLI lives, so the wizard can start its own engine as a child process (`molt-failback
 * replicator start`) from the same installation. The child always runs the built CLI (node +
 * bin/run.js, commands from dist/): oclif's development mode cannot map this project's dist/ back to
 * src/ and falls back to dist/ anyway, at several times the start-up cost. Tests therefore need a
 * build (`npm test` runs `npm run build` first).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The folder holding molt-failback's package.json. */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'molt-failback') return (root = dir);
      } catch {
        // An unreadable package.json is not ours: keep walking up.
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the molt-failback package folder');
    dir = up;
  }
}

export function selfCommand(): { command: string; args: string[] } {
  return { command: process.execPath, args: [join(packageRoot(), 'bin', 'run.js')] };
}

/** Whether a command (e.g. ["replicator", "start"]) exists in the built CLI that selfCommand() runs. */
export function commandAvailable(parts: readonly string[]): boolean {
  return existsSync(`${join(packageRoot(), 'dist', 'commands', ...parts)}.js`);
}
