/**
 * Starts and stops the SIMULATED forward replicator (process.ts) as a real child process, so the
 * wizard's drain-forward step has a metrics endpoint to watch and stop-forward a pid to SIGTERM,
 * exactly as with MOLT's forward replicator. Simulation only: never part of a real failback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ForwardSimulator {
  readonly pid: number;
  readonly metricsUrl: string;
  /** Resolves with the exit code (0 after SIGTERM) once the process is gone. */
  readonly exited: Promise<number | null>;
  isRunning(): boolean;
  /** Kills it if it still runs (SIGKILL: the wizard already had its chance to SIGTERM it) and waits. */
  stop(): Promise<void>;
  /** The same without waiting, for a process that must exit now. */
  killNow(): void;
}

export interface ForwardOptions {
  /** How long its counters keep rising. */
  activeMs: number;
  /** The CockroachDB schema its counters are labelled with (forward replication writes into CockroachDB). */
  schema: string;
  tables: readonly string[];
  rowsPerSecond?: number;
}

// Run from source (tests import src/ through tsx), the entry is a .ts file and the child needs tsx too.
const fromSource = import.meta.url.endsWith('.ts');
const entry = fileURLToPath(new URL(fromSource ? './process.ts' : './process.js', import.meta.url));

export async function startForwardSimulator(o: ForwardOptions): Promise<ForwardSimulator> {
  const args = [...(fromSource ? ['--import', 'tsx'] : []), entry, '--active-ms', String(o.activeMs), '--rows-per-second', String(o.rowsPerSecond ?? 400), '--schema', o.schema, '--tables', o.tables.join(',')];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n')[0] as string;
      if (buf.includes('\n')) {
        try {
          resolve((JSON.parse(line) as { port: number }).port);
        } catch {
          reject(new Error(`the simulated forward replicator printed "${line}" instead of its port`));
        }
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the simulated forward replicator exited early (${code})`)));
  });
  child.stdout?.resume();
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    pid: child.pid as number,
    metricsUrl: `http://127.0.0.1:${port}/_/varz`,
    exited,
    isRunning: running,
    async stop() {
      if (running()) child.kill('SIGKILL');
      await exited;
    },
    killNow() {
      if (running()) child.kill('SIGKILL');
    },
  };
}
