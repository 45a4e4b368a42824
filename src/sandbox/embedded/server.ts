/**
 * A PostgreSQL wire-protocol server over ONE embedded PGlite session, safe for many concurrent
 * clients. pglite-socket (0.2.17) queues single messages and keeps only open transactions together,
 * so outside a transaction one client's Parse/Bind/Execute batch can interleave with another's and
 * clobber the shared unnamed statement, and named statements of different connections collide (the
 * engine's node-postgres pool prepares the same names on every connection). Here a connection holds
 * the session from its first message until PGlite answers ReadyForQuery with status idle (after a
 * simple Query or a Sync, outside a transaction block and any COPY), and statement and portal names
 * are made per-connection
 * (names.ts). A client that disconnects mid-batch or mid-transaction has its batch synced, its
 * transaction rolled back and its prepared statements deallocated, so the next client starts clean.
 *
 * Guarantees: each client sees a private session as far as statements, portals and transactions go;
 * session-level SETs are still shared (the engine and the emulator use SET LOCAL). Throughput is one
 * client at a time, like PGlite itself. No TLS (SSLRequest is answered 'N'), no authentication (any
 * user and password are accepted), no cancel (CancelRequest closes that connection).
 */
import net from 'node:net';
import type { Logger } from '../../lib/log.js';
import { CANCEL_REQUEST, GSSENC_REQUEST, MessageReader, PROTOCOL_V3, SSL_REQUEST, query } from '../crdb/protocol/index.js';
import { Gate } from '../crdb/server/index.js';
import { ident } from '../crdb/sql/literals.js';
import { listenOn } from '../crdb/util/listen.js';
import { renameMessage } from './names.js';

/** What the server needs from a PGlite instance (structural, so tests can pass a fake). */
export interface SharedSession {
  execProtocolRawStream(message: Uint8Array, options: { onRawData: (data: Uint8Array) => void }): Promise<void>;
  isInTransaction(): boolean;
  runExclusive<T>(fn: () => Promise<T>): Promise<T>;
}

const SYNC = Buffer.from([0x53, 0, 0, 0, 4]); // 'S', length 4
const READY_IDLE = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]); // ReadyForQuery ('Z', length 5) with status 'I'

export class SharedSessionServer {
  private readonly server: net.Server;
  private readonly gate = new Gate();
  private readonly connections = new Set<Connection>();
  private nextId = 1;

  constructor(
    private readonly db: SharedSession,
    private readonly log?: Logger,
  ) {
    this.server = net.createServer((socket) => {
      const c = new Connection(socket, this.nextId++, this.db, this.gate, this.log, () => this.connections.delete(c));
      this.connections.add(c);
    });
  }

  /** Listens on host:port (0 picks a free port) and resolves with the port. */
  listen(host: string, port: number): Promise<number> {
    return listenOn(this.server, host, port);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Closes every client connection and the listener. Idempotent. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of [...this.connections]) c.destroy();
    await closed;
  }
}

class Connection {
  private readonly reader = new MessageReader();
  private readonly prefix: string;
  private readonly prepared = new Set<string>();
  private started = false;
  private closed = false;
  /** Messages are handled strictly one after another, in arrival order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: net.Socket,
    id: number,
    private readonly db: SharedSession,
    private readonly gate: Gate,
    private readonly log: Logger | undefined,
    private readonly forget: () => void,
  ) {
    this.prefix = `c${id}_`;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.onClose());
  }

  destroy(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.reader.push(chunk);
    try {
      for (;;) {
        if (!this.started) {
          const body = this.reader.nextStartup();
          if (!body) return;
          this.enqueue(() => this.startup(body));
        } else {
          const m = this.reader.next();
          if (!m) return;
          this.enqueue(() => this.message(m.type, m.body, m.raw));
        }
      }
    } catch (err) {
      this.log?.warn({ err: (err as Error).message }, 'embedded postgres: malformed client message; closing the connection');
      this.socket.destroy();
    }
  }

  private enqueue(fn: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      if (this.closed) return;
      try {
        await fn();
      } catch (err) {
        this.log?.warn({ err: (err as Error).message }, 'embedded postgres: closing a connection after an internal error');
        this.socket.destroy();
      }
    });
  }

  private async startup(body: Buffer): Promise<void> {
    const code = body.readInt32BE(0);
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      this.socket.write('N');
      return;
    }
    if (code === CANCEL_REQUEST || code !== PROTOCOL_V3) {
      this.socket.destroy();
      return;
    }
    this.started = true;
    const packet = Buffer.alloc(body.length + 4);
    packet.writeInt32BE(body.length + 4, 0);
    body.copy(packet, 4);
    await this.run(packet);
  }

  private async message(type: string, body: Buffer, raw: Buffer): Promise<void> {
    if (type === 'X') {
      this.socket.end();
      return;
    }
    const renamed = renameMessage(this.prefix, type, body, raw);
    if (renamed.prepared) this.prepared.add(renamed.prepared);
    if (renamed.closed) this.prepared.delete(renamed.closed);
    await this.run(renamed.raw);
  }

  /**
   * Runs one message with the session held. The session passes on only when PGlite's answer ends with
   * ReadyForQuery 'I' (idle): not inside a transaction ('T', 'E'), an extended-protocol batch before its
   * Sync, or a COPY in progress, none of which another client may interleave with.
   */
  private async run(message: Buffer): Promise<void> {
    await this.gate.acquire(this);
    if (this.closed) {
      await this.reset();
      return;
    }
    let tail = Buffer.alloc(0);
    await this.exec(message, (data) => {
      // A copy: PGlite may reuse the memory behind `data` once this callback returns, before the socket sends it.
      const chunk = Buffer.from(data);
      tail = Buffer.concat([tail, chunk.subarray(-READY_IDLE.length)]).subarray(-READY_IDLE.length);
      if (!this.closed && this.socket.writable) this.socket.write(chunk);
    });
    if (tail.equals(READY_IDLE)) this.gate.release(this);
  }

  private exec(message: Buffer, onRawData: (data: Uint8Array) => void): Promise<void> {
    return this.db.runExclusive(() => this.db.execProtocolRawStream(message, { onRawData }));
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.forget();
    // Queued behind whatever this connection was still running, so the clean-up sees its final state.
    this.chain = this.chain.then(() => this.cleanUp()).catch((err: Error) => this.log?.warn({ err: err.message }, 'embedded postgres: clean-up after a disconnect failed'));
  }

  private async cleanUp(): Promise<void> {
    if (!this.gate.holds(this) && this.prepared.size === 0) {
      this.gate.release(this); // leaves the wait queue if it was waiting
      return;
    }
    await this.gate.acquire(this);
    await this.reset();
  }

  /** Leaves the shared session as a new client expects it: no half batch, no open transaction, no prepared statements of ours. */
  private async reset(): Promise<void> {
    try {
      const discard = () => undefined;
      await this.exec(SYNC, discard);
      if (this.db.isInTransaction()) await this.exec(query('ROLLBACK'), discard);
      for (const name of this.prepared) await this.exec(query(`DEALLOCATE ${ident(name)}`), discard);
      this.prepared.clear();
    } finally {
      this.gate.release(this);
    }
  }
}
