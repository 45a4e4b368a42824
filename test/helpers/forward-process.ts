/**
 * Starts test/helpers/fake-forward-replicator.mjs as a real child process and waits for its metrics
 * endpoint; stop() kills it (if still alive) and waits for the exit, so no process outlives a test.
 * Its argv[0] is "replicator" (what `ps` shows for MOLT Replicator), unless `argv0` says otherwise: a
 * stand-in that stop-forward cannot identify by its command line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ForwardProcess {
  pid: number;
  port: number;
  metricsUrl: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  /** How many SIGTERMs it has received so far. */
  terms(): number;
  stop(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./fake-forward-replicator.mjs', import.meta.url));

export async function startForward(options: { activeMs?: number; termDelayMs?: number; ignoreTerm?: boolean; port?: number; argv0?: string } = {}): Promise<ForwardProcess> {
  const args = [SCRIPT, '--activeMs', String(options.activeMs ?? 1500), '--termDelayMs', String(options.termDelayMs ?? 0), '--port', String(options.port ?? 0)];
  if (options.ignoreTerm) args.push('--ignoreTerm');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], argv0: options.argv0 ?? 'replicator' });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let buf = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /listening (\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`fake forward replicator exited early (${code})`)));
  });
  return {
    pid: child.pid as number,
    port,
    metricsUrl: `http://127.0.0.1:${port}/_/varz`,
    child,
    exited,
    terms: () => buf.split('\n').filter((l) => l === 'sigterm').length,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
