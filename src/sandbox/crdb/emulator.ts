/**
 * Composition root of the emulator: starts the backend (a PostgreSQL URL or embedded PGlite),
 * bootstraps the catalog, then the stamper, the feed manager and the wire-protocol listener, and
 * stops them in reverse order. Used by the `sandbox crdb` command and by tests, never by a real
 * failback run.
 */
import { AppError, ExitCode } from '../../lib/errors.js';
import { redactConn } from '../../lib/conn.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import { InternalDb } from './backend/internal-db.js';
import { startEmbeddedBackend, type EmbeddedBackend } from './backend/embedded.js';
import { bootstrapCatalog } from './catalog/bootstrap.js';
import { Stamper } from './capture/stamper.js';
import { FaultState, type FaultOptions } from './feeds/faults.js';
import { FeedManager } from './feeds/manager.js';
import { parseBackendUrl } from './protocol/backend.js';
import { Gate } from './server/gate.js';
import { PgListener } from './server/listener.js';

export type { FaultOptions };

export interface CrdbEmulatorOptions {
  host?: string;
  port?: number;
  backend?: { url: string } | { pglite: { dataDir?: string } };
  password?: string;
  log?: Logger;
  faults?: FaultOptions;
  capturePollMs?: number;
}

export interface CrdbEmulator {
  readonly url: string;
  readonly port: number;
  readonly backendUrl: string;
  setFaults(f: FaultOptions): void;
  restartFeed(jobId: string): void;
  stop(): Promise<void>;
}

const hostForUrl = (h: string) => (h.includes(':') ? `[${h}]` : h);

export async function startCrdbEmulator(options: CrdbEmulatorOptions = {}): Promise<CrdbEmulator> {
  const log = options.log ?? silentLogger();
  const host = options.host ?? '127.0.0.1';
  const pollMs = Math.max(5, options.capturePollMs ?? 50);
  const faults = new FaultState(options.faults);
  const cleanup: Array<() => Promise<void>> = [];
  const runCleanup = async () => {
    for (const c of cleanup.reverse()) await c().catch((err: Error) => log.warn({ err: err.message }, 'crdb emulator: error while stopping'));
    cleanup.length = 0;
  };

  try {
    let backendUrl: string;
    let gate: Gate | undefined;
    let backendKind: string;
    if (options.backend && 'url' in options.backend) {
      backendUrl = options.backend.url;
      backendKind = 'PostgreSQL server';
    } else {
      const dataDir = options.backend && 'pglite' in options.backend ? options.backend.pglite.dataDir : undefined;
      const embedded: EmbeddedBackend = await startEmbeddedBackend(dataDir);
      cleanup.push(() => embedded.stop());
      backendUrl = embedded.url;
      gate = new Gate();
      backendKind = dataDir ? 'embedded PGlite (data directory)' : 'embedded PGlite (in memory)';
    }
    const target = parseBackendUrl(backendUrl);

    const db = new InternalDb(backendUrl, gate);
    cleanup.push(() => db.close());
    try {
      await bootstrapCatalog(db, backendKind);
    } catch (err) {
      throw new AppError('CRDB_EMULATOR_BACKEND', `The CockroachDB emulator cannot prepare its backend at ${redactConn(backendUrl)}: ${(err as Error).message}`, {
        exitCode: ExitCode.UNREACHABLE,
        cause: err,
        actions: ['Check that PostgreSQL is running and that the backend URL, user and password are right; the user needs to create schemas, functions and triggers.'],
      });
    }

    const stamper = new Stamper(db, pollMs, log);
    stamper.start();
    cleanup.push(() => stamper.stop());

    const feeds = new FeedManager({ db, log, faults, pollMs });
    feeds.start();
    cleanup.push(() => feeds.stop());

    const listener = new PgListener({
      backend: target,
      gate,
      password: options.password,
      log,
      databaseNames: new Set(['defaultdb', 'postgres', target.database.toLowerCase()]),
    });
    let port: number;
    try {
      port = await listener.listen(host, options.port ?? 0);
    } catch (err) {
      throw new AppError('CRDB_EMULATOR_LISTEN', `The CockroachDB emulator cannot listen on ${host}:${options.port ?? 0}: ${(err as Error).message}`, {
        exitCode: ExitCode.USAGE,
        cause: err,
        actions: ['Choose another --listen address or stop whatever uses that port.'],
      });
    }
    cleanup.push(() => listener.close());

    const auth = options.password !== undefined ? `root:${encodeURIComponent(options.password)}` : 'root';
    const url = `postgres://${auth}@${hostForUrl(host)}:${port}/defaultdb?sslmode=disable`;
    log.info({ url: redactConn(url), backend: redactConn(backendUrl), backendKind }, 'crdb emulator: listening');

    let stopping: Promise<void> | undefined;
    return {
      url,
      port,
      backendUrl,
      setFaults: (f) => faults.set(f),
      restartFeed: (jobId) => {
        if (!feeds.restartFeed(String(jobId))) log.warn({ job: jobId }, 'crdb emulator: restartFeed: no running feed with this job id');
      },
      stop: () => {
        stopping ??= runCleanup().then(() => log.info('crdb emulator: stopped'));
        return stopping;
      },
    };
  } catch (err) {
    await runCleanup();
    throw err;
  }
}
