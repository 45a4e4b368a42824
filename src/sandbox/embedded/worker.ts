/**
 * Worker-thread entry that hosts one embedded PGlite database and serves it over the PostgreSQL wire
 * protocol (server.ts). PGlite runs its queries synchronously, so each instance gets its own thread:
 * the sandbox's two databases then start and work in parallel, and the hosting thread's event loop
 * (the emulator, the wizard, the workload) is never blocked by SQL. Protocol with the parent:
 * workerData { dataDir?, host } in; { kind: 'ready', port } or { kind: 'failed', message } out;
 * { kind: 'stop' } in, { kind: 'stopped' } out.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { SharedSessionServer } from './server.js';

interface Data {
  dataDir?: string;
  host: string;
}

const port = parentPort;
if (!port) throw new Error('embedded/worker.ts must run in a worker thread');
const data = workerData as Data;

try {
  const db = await PGlite.create(data.dataDir ? { dataDir: data.dataDir } : {});
  const server = new SharedSessionServer(db);
  const listening = await server.listen(data.host, 0);
  port.on('message', (m: { kind?: string }) => {
    if (m?.kind !== 'stop') return;
    void (async () => {
      await server.close().catch(() => undefined);
      await db.close().catch(() => undefined);
      port.postMessage({ kind: 'stopped' });
    })();
  });
  port.postMessage({ kind: 'ready', port: listening });
} catch (err) {
  port.postMessage({ kind: 'failed', message: (err as Error).message });
}
