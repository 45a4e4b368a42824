/**
 * Embedded PostgreSQL for the sandbox: PGlite (PostgreSQL compiled to WebAssembly) in a worker thread,
 * served on a free 127.0.0.1 port over the ordinary wire protocol, so the emulator, the engine (a
 * separate process), psql and node-postgres all reach it by URL. It must stay a test and demo
 * convenience: nothing in a real failback starts one. Cold start takes a few seconds, which is why the
 * sandbox starts its two instances at once.
 */
import { Worker } from 'node:worker_threads';

export interface EmbeddedPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres?sslmode=disable (no password: trust). */
  readonly url: string;
  readonly port: number;
  /** Stops the server and PGlite, then the thread. Idempotent. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Keep the database in this directory instead of memory. */
  dataDir?: string;
  /** Abandons a start that takes longer (default 120 s: PGlite's cold start is slow on a busy machine). */
  startTimeoutMs?: number;
}

// Run from source (tests import src/ through tsx), the worker is a .ts file. Module hooks registered in
// the parent do not reach a worker on Node 20, and `--import tsx` in its execArgv registers them too
// late for the entry module, so a small bootstrap registers tsx first and then imports the entry.
const fromSource = import.meta.url.endsWith('.ts');
const workerUrl = new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url);

function spawnWorker(workerData: unknown): Worker {
  if (!fromSource) return new Worker(workerUrl, { workerData });
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(workerUrl.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}

type FromWorker = { kind: 'ready'; port: number } | { kind: 'failed'; message: string } | { kind: 'stopped' };

export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<EmbeddedPostgres> {
  const host = '127.0.0.1';
  const worker = spawnWorker({ dataDir: options.dataDir, host });
  // A thread that dies later shows up as refused connections to its clients; it must not also crash
  // the hosting process through an unhandled 'error' event.
  worker.on('error', () => undefined);
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`embedded PostgreSQL did not start within ${(options.startTimeoutMs ?? 120_000) / 1000}s`)), options.startTimeoutMs ?? 120_000);
      worker.on('message', (m: FromWorker) => {
        if (m.kind === 'ready') {
          clearTimeout(timer);
          resolve(m.port);
        } else if (m.kind === 'failed') {
          clearTimeout(timer);
          reject(new Error(`embedded PostgreSQL failed to start: ${m.message}`));
        }
      });
      worker.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      worker.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`embedded PostgreSQL thread exited (${code}) before it was ready`));
      });
    });
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    url: `postgres://postgres@${host}:${port}/postgres?sslmode=disable`,
    port,
    stop() {
      stopping ??= (async () => {
        const stopped = new Promise<void>((resolve) => {
          worker.on('message', (m: FromWorker) => m.kind === 'stopped' && resolve());
          worker.once('exit', () => resolve());
        });
        worker.postMessage({ kind: 'stop' });
        // A wedged PGlite must not keep the sandbox from exiting: give it a moment, then end the thread.
        await Promise.race([stopped, new Promise((r) => setTimeout(r, 5000).unref())]);
        await worker.terminate();
      })();
      return stopping;
    },
  };
}
