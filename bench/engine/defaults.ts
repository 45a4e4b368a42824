/**
 * What the bench needs to know about the engine before starting it: whether `replicator start` is
 * built, and its rows-per-statement (--flushSize), which the baseline copies so that the ratio compares
 * like with like. The default is read from the engine's own settings table (through its index.ts)
 * rather than repeated here, and an --engine-arg=--flushSize=N override wins.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

export const engineCommandPresent = (repoRoot: string): boolean =>
  existsSync(path.join(repoRoot, 'dist/commands/replicator/start.js'));

interface SettingLike {
  readonly key: string;
  readonly default?: unknown;
}

const FALLBACK = 1000; // MOLT Replicator's documented --flushSize default

export async function engineBatchSize(repoRoot: string, engineArgs: readonly string[]): Promise<{ size: number; source: string }> {
  for (let i = 0; i < engineArgs.length; i++) {
    const arg = engineArgs[i]!;
    const m = /^--flushSize(?:=(\d+))?$/.exec(arg);
    if (!m) continue;
    const value = Number(m[1] ?? engineArgs[i + 1]);
    if (Number.isInteger(value) && value > 0) return { size: value, source: '--engine-arg --flushSize' };
  }
  try {
    const mod = (await import(path.join(repoRoot, 'src/replicator/index.ts'))) as { ENGINE_SETTINGS?: readonly SettingLike[] };
    const value = mod.ENGINE_SETTINGS?.find((s) => s.key === 'flushSize')?.default;
    if (typeof value === 'number' && value > 0) return { size: value, source: 'engine default (ENGINE_SETTINGS)' };
  } catch {
    // The engine's index is not there yet: fall through to MOLT's documented default.
  }
  return { size: FALLBACK, source: 'MOLT Replicator documented default (engine settings not importable)' };
}
