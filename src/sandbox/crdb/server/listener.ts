/**
 * The TCP listener of the emulator: accepts PostgreSQL-protocol clients, gives each a Session,
 * hands out the (pid, secret) keys that CancelRequests refer to, and closes every session on stop.
 */
import net from 'node:net';
import { randomInt } from 'node:crypto';
import type { Logger } from '../../../lib/log.js';
import type { BackendTarget } from '../protocol/backend.js';
import { listenOn } from '../util/listen.js';
import type { Gate } from './gate.js';
import { Session } from './session.js';

export interface ListenerOptions {
  backend: BackendTarget;
  gate?: Gate;
  password?: string;
  log: Logger;
  databaseNames: ReadonlySet<string>;
}

export class PgListener {
  private readonly server: net.Server;
  private readonly sessions = new Set<Session>();
  private readonly byKey = new Map<string, Session>();
  private nextPid = 1;

  constructor(private readonly opts: ListenerOptions) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  listen(host: string, port: number): Promise<number> {
    return listenOn(this.server, host, port);
  }

  private accept(socket: net.Socket): void {
    const session = new Session(socket, {
      ...this.opts,
      newKey: () => ({ pid: this.nextPid++, secret: randomInt(1, 0x7fffffff) }),
      register: (s) => this.byKey.set(`${s.pid}:${s.secret}`, s),
      unregister: (s) => {
        this.byKey.delete(`${s.pid}:${s.secret}`);
        this.sessions.delete(s);
      },
      findByKey: (pid, secret) => this.byKey.get(`${pid}:${secret}`),
    });
    this.sessions.add(session);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of [...this.sessions]) s.close();
    await closed;
  }
}
