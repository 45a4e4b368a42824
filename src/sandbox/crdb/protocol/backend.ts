/**
 * The client side of a backend connection: opens TCP to the backing PostgreSQL, sends the startup
 * packet and answers its authentication challenge (trust, cleartext, md5 or SCRAM-SHA-256; SCRAM
 * reuses node-postgres' helpers), then collects ParameterStatus and BackendKeyData until the first
 * ReadyForQuery. After that the socket belongs to the caller, who relays frames over it.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import net from 'node:net';
import {
  MessageReader,
  cancelRequest,
  parseFields,
  passwordMessage,
  saslInitialResponse,
  saslResponse,
  startupMessage,
  BodyReader,
} from './messages.js';

interface SaslSession {
  mechanism: string;
  response: string;
}
interface SaslModule {
  startSession(mechanisms: string[], stream?: unknown): SaslSession;
  continueSession(session: SaslSession, password: string, serverData: string, stream?: unknown): Promise<void>;
  finalizeSession(session: SaslSession, serverData: string): void;
}
// node-postgres ships SCRAM as CommonJS without typings; it is a dependency already.
const sasl = createRequire(import.meta.url)('pg/lib/crypto/sasl.js') as SaslModule;

export interface BackendTarget {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
}

export interface BackendConnection {
  socket: net.Socket;
  parameters: Map<string, string>;
  pid: number;
  secret: number;
  /** Bytes that arrived after the first ReadyForQuery (normally none). */
  leftover: Buffer;
}

/** A backend refusal (bad password, missing database...) with PostgreSQL's fields. */
export class BackendError extends Error {
  constructor(readonly fields: Map<string, string>) {
    super(fields.get('M') ?? 'backend error');
  }
}

export function parseBackendUrl(url: string): BackendTarget {
  const u = new URL(url);
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 5432,
    user: dec(u.username) || 'postgres',
    password: u.password ? dec(u.password) : undefined,
    database: dec(u.pathname.replace(/^\//, '')) || dec(u.username) || 'postgres',
  };
}

export function connectBackend(target: BackendTarget, extraParams: Record<string, string> = {}, timeoutMs = 15_000): Promise<BackendConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    const reader = new MessageReader();
    const parameters = new Map<string, string>();
    let pid = 0;
    let secret = 0;
    let saslSession: SaslSession | undefined;
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`timed out connecting to the backend at ${target.host}:${target.port}`)), timeoutMs);
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.destroy();
      reject(err);
    };
    const needPassword = (): string => {
      if (target.password === undefined || target.password === '') throw new Error('the backend asked for a password but the backend URL has none');
      return target.password;
    };
    let chain = Promise.resolve();
    const onData = (chunk: Buffer) => {
      reader.push(chunk);
      // SCRAM steps are async; process messages strictly in order.
      chain = chain.then(drain).catch((err: Error) => fail(err));
    };
    const drain = async () => {
      for (;;) {
        if (settled) return;
        const msg = reader.next();
        if (!msg) return;
        switch (msg.type) {
          case 'R': {
            const r = new BodyReader(msg.body);
            const code = r.int32();
            if (code === 0) break;
            if (code === 3) socket.write(passwordMessage(needPassword()));
            else if (code === 5) {
              const salt = r.bytes(4);
              const inner = createHash('md5').update(needPassword() + target.user).digest('hex');
              const outer = createHash('md5').update(Buffer.concat([Buffer.from(inner), salt])).digest('hex');
              socket.write(passwordMessage(`md5${outer}`));
            } else if (code === 10) {
              const mechanisms: string[] = [];
              for (;;) {
                const m = r.cstring();
                if (m === '') break;
                mechanisms.push(m);
              }
              needPassword();
              saslSession = sasl.startSession(mechanisms);
              socket.write(saslInitialResponse(saslSession.mechanism, saslSession.response));
            } else if (code === 11) {
              if (!saslSession) throw new Error('unexpected SASL continue from the backend');
              await sasl.continueSession(saslSession, needPassword(), r.rest().toString('utf8'));
              socket.write(saslResponse(saslSession.response));
            } else if (code === 12) {
              if (!saslSession) throw new Error('unexpected SASL final from the backend');
              sasl.finalizeSession(saslSession, r.rest().toString('utf8'));
            } else throw new Error(`the backend asked for an unsupported authentication method (code ${code})`);
            break;
          }
          case 'S': {
            const r = new BodyReader(msg.body);
            parameters.set(r.cstring(), r.cstring());
            break;
          }
          case 'K': {
            const r = new BodyReader(msg.body);
            pid = r.int32();
            secret = r.int32();
            break;
          }
          case 'E':
            return fail(new BackendError(parseFields(msg.body)));
          case 'N':
            break;
          case 'Z': {
            settled = true;
            clearTimeout(timer);
            socket.removeListener('data', onData);
            socket.removeListener('error', fail);
            socket.removeListener('close', onClose);
            resolve({ socket, parameters, pid, secret, leftover: reader.takeRest() });
            return;
          }
          default:
            break;
        }
      }
    };
    const onClose = () => fail(new Error('the backend closed the connection during startup'));
    socket.on('data', onData);
    socket.on('error', fail);
    socket.on('close', onClose);
    socket.once('connect', () => {
      socket.write(startupMessage({ user: target.user, database: target.database, ...extraParams }));
    });
  });
}

/** Forwards a cancel request to the backend (best effort; PostgreSQL never answers it). */
export function sendBackendCancel(target: BackendTarget, pid: number, secret: number): void {
  const s = net.connect({ host: target.host, port: target.port }, () => {
    s.end(cancelRequest(pid, secret));
  });
  s.on('error', () => s.destroy());
  s.setTimeout(5000, () => s.destroy());
}
