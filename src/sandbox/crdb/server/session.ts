/**
 * One client connection: the server side of the PostgreSQL v3 startup (SSLRequest answered 'N',
 * trust or cleartext-password authentication), a backend connection of its own, then a relay of
 * frames both ways. Client Query and Parse messages go through the rewriter; Bind messages of
 * deferred statements get their placeholders substituted; backend replies pass through the
 * response tracker. After passed-through DDL the capture-trigger installer runs in the same backend
 * session (inline in a simple query, or as an injected query after Sync) so changes made right after
 * a CREATE TABLE are captured. Messages are handled strictly in arrival order.
 */
import { timingSafeEqual } from 'node:crypto';
import type net from 'node:net';
import type { Logger } from '../../../lib/log.js';
import {
  CANCEL_REQUEST,
  GSSENC_REQUEST,
  MessageReader,
  PROTOCOL_V3,
  SSL_REQUEST,
  authenticationCleartext,
  authenticationOk,
  backendKeyData,
  bindMessage,
  errorResponse,
  parameterStatus,
  parseMessage,
  query,
  readBind,
  readCString,
  readExecutePortal,
  readParse,
  readStartup,
  readTarget,
  readyForQuery,
  terminate,
  type Message,
} from '../protocol/messages.js';
import { BackendError, connectBackend, sendBackendCancel, type BackendTarget } from '../protocol/backend.js';
import { splitStatements } from '../sql/split.js';
import { errorSql, rewriteStatement, type Rewrite, type RewriteContext } from '../sql/rewrite.js';
import { ParamError, substituteParams } from '../sql/params.js';
import { tokenize } from '../sql/lexer.js';
import type { Gate } from './gate.js';
import { PASS, ResponseTracker, SWALLOW, type Action } from './tracker.js';

export const CRDB_SERVER_VERSION = '13.0.0';
export const CRDB_VERSION_STRING = 'CockroachDB CCL v25.4.0 (x86_64-pc-linux-gnu, built 2025/11/17 12:00:00, go1.23.12)';
const INSTALL_SQL = 'CALL _crdb_emulator.install_capture()';

/** Client startup parameters worth forwarding to the backend. */
const FORWARDED_PARAMS = ['application_name', 'client_encoding', 'DateStyle', 'TimeZone', 'extra_float_digits', 'IntervalStyle', 'search_path'];

export interface SessionDeps {
  backend: BackendTarget;
  gate?: Gate;
  password?: string;
  log: Logger;
  databaseNames: ReadonlySet<string>;
  newKey(): { pid: number; secret: number };
  register(session: Session): void;
  unregister(session: Session): void;
  findByKey(pid: number, secret: number): Session | undefined;
}

interface PreparedInfo {
  sql: string;
  rewrite: Rewrite;
  paramTypes: number[];
}

type Phase = 'startup' | 'password' | 'connecting' | 'relay' | 'closed';

export class Session {
  readonly pid: number;
  readonly secret: number;
  private phase: Phase = 'startup';
  private readonly reader = new MessageReader();
  private backendSocket?: net.Socket;
  private backendPid = 0;
  private backendSecret = 0;
  private readonly tracker = new ResponseTracker();
  private startupParams = new Map<string, string>();
  private ctx!: RewriteContext;
  private readonly statements = new Map<string, PreparedInfo>();
  private readonly portals = new Map<string, PreparedInfo>();
  private readonly inbox: Message[] = [];
  private pumping = false;
  /** A DDL statement executed in the current extended batch: install capture after Sync. */
  private installAfterSync = false;

  constructor(
    private readonly client: net.Socket,
    private readonly deps: SessionDeps,
  ) {
    const key = deps.newKey();
    this.pid = key.pid;
    this.secret = key.secret;
    client.setNoDelay(true);
    client.on('data', (chunk: Buffer) => this.onClientData(chunk));
    client.on('error', () => this.close());
    client.on('close', () => this.close());
  }

  private get log(): Logger {
    return this.deps.log;
  }

  // ------------------------------------------------------------------ startup

  private onClientData(chunk: Buffer): void {
    if (this.phase === 'closed') return;
    try {
      this.reader.push(chunk);
      if (this.phase === 'startup') this.readStartupPackets();
      if (this.phase === 'password' || this.phase === 'relay' || this.phase === 'connecting') {
        for (let m = this.reader.next(); m; m = this.reader.next()) this.inbox.push(m);
        void this.pump();
      }
    } catch (err) {
      this.fatal('08P01', `invalid client message: ${(err as Error).message}`);
    }
  }

  private readStartupPackets(): void {
    for (let body = this.reader.nextStartup(); body; body = this.reader.nextStartup()) {
      const s = readStartup(body);
      if (s.code === SSL_REQUEST || s.code === GSSENC_REQUEST) {
        // No TLS on the emulator's listener: clients fall back to plaintext (sslmode=prefer/disable).
        this.client.write('N');
        continue;
      }
      if (s.code === CANCEL_REQUEST) {
        this.deps.findByKey(s.pid as number, s.secret as number)?.cancel();
        this.phase = 'closed';
        this.client.end();
        return;
      }
      if (s.code >> 16 !== 3) {
        this.fatal('0A000', `unsupported frontend protocol ${s.code >> 16}.${s.code & 0xffff}: server supports 3.0 to 3.0`);
        return;
      }
      this.startupParams = s.params;
      if (s.code !== PROTOCOL_V3) {
        // NegotiateProtocolVersion: we speak 3.0 and none of the _pq_ options.
        const unknown = [...s.params.keys()].filter((k) => k.startsWith('_pq_.'));
        const parts = [Buffer.from('v'), Buffer.alloc(4), int32(0), int32(unknown.length), ...unknown.map((u) => Buffer.from(`${u}\0`))];
        const msg = Buffer.concat(parts);
        msg.writeInt32BE(msg.length - 1, 1);
        this.client.write(msg);
      }
      if (this.deps.password !== undefined) {
        this.phase = 'password';
        this.client.write(authenticationCleartext());
      } else {
        this.phase = 'connecting';
        void this.connect();
      }
      return;
    }
  }

  private checkPassword(msg: Message): void {
    if (msg.type !== 'p') return this.fatal('08P01', `expected password response, got message type ${msg.type}`);
    const given = Buffer.from(readCString(msg.body), 'utf8');
    const want = Buffer.from(this.deps.password ?? '', 'utf8');
    const ok = given.length === want.length && timingSafeEqual(given, want);
    if (!ok) {
      const user = this.startupParams.get('user') ?? '';
      this.log.warn({ user }, 'crdb emulator: password authentication failed');
      return this.fatal('28P01', `password authentication failed for user ${user}`);
    }
    this.phase = 'connecting';
    void this.connect();
  }

  private async connect(): Promise<void> {
    const user = this.startupParams.get('user') ?? 'root';
    const database = this.startupParams.get('database') ?? user;
    const names = new Set(this.deps.databaseNames);
    names.add(user.toLowerCase());
    if (!names.has(database.toLowerCase())) return this.fatal('3D000', `database "${database}" does not exist`);
    this.ctx = { user, databaseNames: names };
    const extra: Record<string, string> = {};
    for (const p of FORWARDED_PARAMS) {
      const v = this.startupParams.get(p);
      if (v !== undefined) extra[p] = v;
    }
    try {
      // The gate keeps a PGlite startup from landing inside another client's extended batch.
      if (this.deps.gate) await this.deps.gate.acquire(this);
      if (this.closed) return;
      const conn = await connectBackend(this.deps.backend, extra);
      if (this.closed) {
        conn.socket.destroy();
        return;
      }
      this.backendSocket = conn.socket;
      this.backendPid = conn.pid;
      this.backendSecret = conn.secret;
      const out: Buffer[] = [authenticationOk()];
      for (const [k, v] of conn.parameters) {
        if (k === 'server_version') out.push(parameterStatus(k, CRDB_SERVER_VERSION));
        else out.push(parameterStatus(k, v));
      }
      out.push(parameterStatus('crdb_version', CRDB_VERSION_STRING));
      out.push(backendKeyData(this.pid, this.secret), readyForQuery('I'));
      this.client.write(Buffer.concat(out));
      this.deps.register(this);
      this.wireBackend(conn.socket, conn.leftover);
      this.phase = 'relay';
      this.deps.gate?.release(this);
      void this.pump();
    } catch (err) {
      this.deps.gate?.release(this);
      if (err instanceof BackendError) {
        this.log.warn({ err: err.message }, 'crdb emulator: the backend refused a connection');
        return this.fatal(err.fields.get('C') ?? '08006', err.message);
      }
      this.log.error({ err: (err as Error).message }, 'crdb emulator: cannot connect to the backend');
      return this.fatal('08006', `the CockroachDB emulator cannot reach its backend: ${(err as Error).message}`);
    }
  }

  // ------------------------------------------------------------------ relay: backend -> client

  private readonly backendReader = new MessageReader();

  private wireBackend(socket: net.Socket, leftover: Buffer): void {
    socket.on('data', (chunk: Buffer) => this.onBackendData(chunk));
    socket.on('error', (err) => {
      this.log.warn({ err: err.message }, 'crdb emulator: backend connection error');
      this.close();
    });
    socket.on('close', () => this.close());
    socket.on('drain', () => this.client.resume());
    this.client.on('drain', () => socket.resume());
    if (leftover.length) this.onBackendData(leftover);
  }

  private onBackendData(chunk: Buffer): void {
    if (this.phase === 'closed') return;
    this.backendReader.push(chunk);
    const out: Buffer[] = [];
    try {
      for (let m = this.backendReader.next(); m; m = this.backendReader.next()) {
        const b = this.tracker.process(m);
        if (b) out.push(b);
      }
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'crdb emulator: bad message from the backend');
      this.close();
      return;
    }
    if (out.length && !this.client.write(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out))) this.backendSocket?.pause();
  }

  private onReady(status: string): void {
    // Hand the shared PGlite session to others once this client is idle outside a transaction.
    if (status === 'I' && !this.tracker.pending) this.deps.gate?.release(this);
  }

  // ------------------------------------------------------------------ relay: client -> backend

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.inbox.length > 0 && this.phase !== 'closed') {
        if (this.phase === 'password') {
          this.checkPassword(this.inbox.shift() as Message);
          continue;
        }
        if (this.phase !== 'relay') return;
        await this.handle(this.inbox.shift() as Message);
      }
    } catch (err) {
      this.log.error({ err: (err as Error).stack }, 'crdb emulator: session failure');
      this.fatal('XX000', `CockroachDB emulator internal error: ${(err as Error).message}`);
    } finally {
      this.pumping = false;
    }
  }

  private async send(buf: Buffer): Promise<void> {
    if (this.deps.gate) await this.deps.gate.acquire(this);
    const s = this.backendSocket;
    if (!s || this.phase === 'closed') return;
    if (!s.write(buf)) this.client.pause();
  }

  private async handle(msg: Message): Promise<void> {
    switch (msg.type) {
      case 'Q':
        return this.handleQuery(readCString(msg.body));
      case 'P':
        return this.handleParse(msg);
      case 'B':
        return this.handleBind(msg);
      case 'D': {
        const t = readTarget(msg.body);
        const info = t.kind === 'S' ? this.statements.get(t.name) : this.portals.get(t.name);
        this.tracker.addExtended('describe', info?.rewrite.describe ?? PASS);
        return this.send(msg.raw);
      }
      case 'E': {
        const info = this.portals.get(readExecutePortal(msg.body));
        if (info?.rewrite.ddl) this.installAfterSync = true;
        this.tracker.addExtended('execute', info?.rewrite.action ?? PASS);
        return this.send(msg.raw);
      }
      case 'C': {
        const t = readTarget(msg.body);
        if (t.kind === 'S') this.statements.delete(t.name);
        else this.portals.delete(t.name);
        this.tracker.addExtended('close');
        return this.send(msg.raw);
      }
      case 'F':
        this.tracker.addExtended('fcall');
        return this.send(msg.raw);
      case 'S': {
        this.tracker.addSync((s) => this.onReady(s));
        await this.send(msg.raw);
        if (this.installAfterSync) {
          this.installAfterSync = false;
          this.tracker.addQuery('opaque', { swallowAll: true, onReady: (s) => this.onReady(s) });
          await this.send(query(INSTALL_SQL));
        }
        return;
      }
      case 'X':
        this.close();
        return;
      default:
        // Flush, CopyData/CopyDone/CopyFail and anything else: relay unchanged.
        return this.send(msg.raw);
    }
  }

  private async handleQuery(sql: string): Promise<void> {
    const stmts = splitStatements(sql);
    const rewrites = stmts.map((s) => rewriteStatement(s.text, s.tokens, this.ctx));
    const untouched = rewrites.every((r, i) => !r.ddl && !r.emulated && r.sql === stmts[i]?.text);
    if (untouched) {
      this.tracker.addQuery('opaque', { onReady: (s) => this.onReady(s) });
      return this.send(query(sql));
    }
    const parts: string[] = [];
    const units: Array<{ action: Action }> = [];
    rewrites.forEach((r, i) => {
      parts.push(r.sql);
      units.push({ action: r.action });
      if (r.ddl) {
        parts.push(INSTALL_SQL);
        units.push({ action: SWALLOW });
      }
      // Only the statement's leading keywords: the rest may hold sink credentials.
      if (r.emulated) this.log.debug({ statement: leadingWords(stmts[i]?.text ?? '') }, 'crdb emulator: emulated statement');
    });
    this.tracker.addQuery(units, { onReady: (s) => this.onReady(s) });
    // A newline before each semicolon keeps a trailing line comment from swallowing it.
    return this.send(query(parts.join('\n;\n')));
  }

  private async handleParse(msg: Message): Promise<void> {
    const p = readParse(msg.body);
    const stmts = splitStatements(p.sql);
    let rewrite: Rewrite = { sql: p.sql, action: PASS, describe: PASS, ddl: false, emulated: false };
    const only = stmts.length === 1 ? stmts[0] : undefined;
    if (only) rewrite = rewriteStatement(only.text, only.tokens, this.ctx);
    const info: PreparedInfo = { sql: p.sql, rewrite, paramTypes: p.paramTypes };
    this.statements.set(p.name, info);
    this.tracker.addExtended('parse');
    if (rewrite.deferred) return this.send(parseMessage(p.name, rewrite.sql, [25]));
    if (rewrite.sql === p.sql) return this.send(msg.raw);
    return this.send(parseMessage(p.name, rewrite.sql, p.paramTypes));
  }

  private async handleBind(msg: Message): Promise<void> {
    const b = readBind(msg.body);
    const info = this.statements.get(b.statement);
    if (info) this.portals.set(b.portal, info);
    this.tracker.addExtended('bind');
    if (!info?.rewrite.deferred) return this.send(msg.raw);
    // Build the real statement now that the values are known.
    const shape = info.rewrite.deferred === 'job' ? 'job' : 'call';
    let sql: string;
    try {
      const text = substituteParams(info.sql, b.params, b.paramFormats, info.paramTypes);
      sql = rewriteStatement(text, tokenize(text), this.ctx, shape).sql;
    } catch (err) {
      if (!(err instanceof ParamError)) throw err;
      sql = errorSql('08P01', err.message, shape);
    }
    return this.send(bindMessage({ portal: b.portal, statement: b.statement, paramFormats: [0], params: [Buffer.from(sql, 'utf8')], resultFormats: b.resultFormats }));
  }

  // ------------------------------------------------------------------ lifecycle

  /** Forwards a client's CancelRequest to the backend session serving it. */
  cancel(): void {
    if (this.backendPid) sendBackendCancel(this.deps.backend, this.backendPid, this.backendSecret);
  }

  private fatal(code: string, message: string): void {
    if (this.phase === 'closed') return;
    try {
      this.client.write(errorResponse(code, message, 'FATAL'));
    } catch {
      // the socket is already gone
    }
    this.client.end();
    this.close();
  }

  close(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.deps.unregister(this);
    this.deps.gate?.release(this);
    const b = this.backendSocket;
    if (b && !b.destroyed) {
      // A polite Terminate keeps "unexpected EOF" out of the backend's log (pglite-socket ignores it).
      b.end(terminate());
      setTimeout(() => b.destroy(), 1000).unref();
    }
    if (!this.client.destroyed) this.client.end();
    setTimeout(() => this.client.destroy(), 1000).unref();
  }

  get closed(): boolean {
    return this.phase === 'closed';
  }
}

function leadingWords(sql: string): string {
  return sql.trim().split(/\s+/).slice(0, 3).join(' ').toUpperCase();
}

function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
}
