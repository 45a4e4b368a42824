/**
 * Embedded PGlite as the backend when no PostgreSQL URL is given: in memory or in a data directory,
 * served on an ephemeral 127.0.0.1 port by pglite-socket so the emulator (and tests, through
 * `backendUrl`) reach it over the ordinary wire protocol. PGlite is a single PostgreSQL session; the
 * socket server multiplexes connections and serialises transactions, and the emulator's gate keeps
 * extended-protocol batches whole. Cold start takes a few seconds.
 */
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedBackend {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedBackend(dataDir?: string): Promise<EmbeddedBackend> {
  const db = await PGlite.create(dataDir ? { dataDir } : {});
  // maxConnections defaults to 1; every client of the emulator holds one backend connection.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 1000 });
  await server.start();
  const conn = server.getServerConn(); // "127.0.0.1:<port>"
  const port = Number(conn.split(':').pop());
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
