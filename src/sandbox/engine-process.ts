/**
 * The engine the wizard started in the background (detached, so it would outlive the sandbox): find it
 * through the pid file in the state folder and end it, politely first (SIGTERM: it finishes its
 * window and releases its lease), then for good. The sandbox owns this engine, so unlike the wizard's
 * stop-forward step it may SIGKILL.
 */
import { join } from 'node:path';
import { readPidFile } from '../steps/lib/files.js';
import { stopEngine } from '../steps/observe.js';
import { abortableSleep as sleep, NodeProcesses } from '../steps/services-impl.js';

const processes = new NodeProcesses();

export const enginePidFile = (stateDir: string): string => join(stateDir, 'replicator.pid');

/** The engine's pid when one is recorded and still alive. */
export function runningEngine(stateDir: string): number | undefined {
  const pid = readPidFile(enginePidFile(stateDir));
  return pid !== undefined && processes.isAlive(pid) ? pid : undefined;
}

/** SIGTERM, wait up to graceMs, then SIGKILL. Resolves with what it took. */
export async function endEngine(stateDir: string, graceMs = 8000): Promise<'none' | 'stopped' | 'killed'> {
  const pid = runningEngine(stateDir);
  if (pid === undefined) return 'none';
  const r = await stopEngine({ processes, sleep, now: () => Date.now() }, pid, graceMs);
  if (r.outcome !== 'still-running') return 'stopped';
  processes.signal(pid, 'SIGKILL');
  for (let i = 0; i < 50 && processes.isAlive(pid); i++) await sleep(100);
  return 'killed';
}

/** Synchronous SIGKILL, for an exit that cannot wait. */
export function killEngineNow(stateDir: string): void {
  const pid = runningEngine(stateDir);
  if (pid !== undefined) processes.signal(pid, 'SIGKILL');
}
