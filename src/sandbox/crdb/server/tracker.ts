/**
 * Matches backend responses to the client requests that caused them, so the session can hide or
 * reshape the answers to statements it rewrote: swallow the replies to statements it injected
 * (capture-trigger installation), replace a CommandComplete tag ("CALL" -> "SET CLUSTER SETTING"),
 * turn a one-row count into a tag ("PAUSE JOBS 1"), and strip the PL/pgSQL context line from errors
 * raised by emulator functions. Requests form batches that each end with one ReadyForQuery: a simple
 * Query, or extended-protocol messages up to Sync. Traffic the emulator did not touch is "opaque"
 * and relayed byte for byte. Not safe for concurrent use; one tracker per session.
 */
import { BodyReader, commandComplete, fieldsMessage, noData, parseFields, type Message } from '../protocol/messages.js';

export type Action =
  | { kind: 'pass' }
  | { kind: 'swallow' }
  | { kind: 'retag'; tag: string }
  | { kind: 'countTag'; prefix: string }
  | { kind: 'noData' };

export type Expect = 'parse' | 'bind' | 'describe' | 'execute' | 'close' | 'statement' | 'fcall';

interface Unit {
  expect: Expect;
  action: Action;
  count?: string;
}

interface Batch {
  units: Unit[];
  opaque: boolean;
  swallowAll: boolean;
  errored: boolean;
  closed: boolean;
  onReady?: (status: string) => void;
}

export const PASS: Action = { kind: 'pass' };
export const SWALLOW: Action = { kind: 'swallow' };

/** Emulator objects live in these schemas; errors from them carry no PL/pgSQL context for users. */
const EMULATOR_CONTEXT = /_crdb_emulator\.|crdb_internal\./;

export class ResponseTracker {
  private readonly batches: Batch[] = [];
  /** Extended-protocol batch still receiving messages (no Sync yet). */
  private open: Batch | undefined;

  /** A simple Query: opaque (relay as is) or one unit per statement. */
  addQuery(units: Array<{ action: Action }> | 'opaque', options: { swallowAll?: boolean; onReady?: (s: string) => void } = {}): void {
    this.closeOpen();
    this.batches.push({
      units: units === 'opaque' ? [] : units.map((u) => ({ expect: 'statement' as const, action: u.action })),
      opaque: units === 'opaque',
      swallowAll: options.swallowAll ?? false,
      errored: false,
      closed: true,
      onReady: options.onReady,
    });
  }

  /** One extended-protocol message that produces a response (Parse, Bind, Describe, Execute, Close). */
  addExtended(expect: Expect, action: Action = PASS): void {
    if (!this.open) {
      this.open = { units: [], opaque: false, swallowAll: false, errored: false, closed: false };
      this.batches.push(this.open);
    }
    this.open.units.push({ expect, action });
  }

  /** Sync: the open extended batch will end with one ReadyForQuery. */
  addSync(onReady?: (s: string) => void): void {
    if (!this.open) {
      this.open = { units: [], opaque: false, swallowAll: false, errored: false, closed: false };
      this.batches.push(this.open);
    }
    this.open.onReady = onReady;
    this.closeOpen();
  }

  private closeOpen(): void {
    if (this.open) this.open.closed = true;
    this.open = undefined;
  }

  /** True while responses are still expected (the backend is busy on our behalf). */
  get pending(): boolean {
    return this.batches.length > 0;
  }

  /** Decides what to send to the client for one backend message (undefined = drop it). */
  process(msg: Message): Buffer | undefined {
    const batch = this.batches[0];
    switch (msg.type) {
      case 'S':
      case 'A':
        return batch?.swallowAll ? undefined : msg.raw;
      case 'N':
        return batch?.swallowAll ? undefined : stripEmulatorContext('N', msg);
      case 'Z':
        if (!batch) return msg.raw;
        this.batches.shift();
        batch.onReady?.(String.fromCharCode(msg.body[0] as number));
        return batch.swallowAll ? undefined : msg.raw;
      case 'E':
        if (!batch) return stripEmulatorContext('E', msg);
        batch.errored = true;
        batch.units.length = 0;
        return batch.swallowAll ? undefined : stripEmulatorContext('E', msg);
      default:
        break;
    }
    if (batch?.swallowAll) return undefined;
    if (!batch || batch.opaque) return msg.raw;
    if (batch.errored) return msg.raw;
    const unit = batch.units[0];
    if (!unit) return msg.raw; // desynchronised: fail open
    const done = completes(unit.expect, msg.type);
    const out = apply(unit, msg, done);
    if (done) batch.units.shift();
    return out;
  }
}

function completes(expect: Expect, type: string): boolean {
  switch (expect) {
    case 'parse':
      return type === '1';
    case 'bind':
      return type === '2';
    case 'close':
      return type === '3';
    case 'describe':
      return type === 'T' || type === 'n';
    case 'fcall':
      return type === 'V';
    default:
      return type === 'C' || type === 'I' || type === 's';
  }
}

function apply(unit: Unit, msg: Message, done: boolean): Buffer | undefined {
  const a = unit.action;
  switch (a.kind) {
    case 'pass':
      return msg.raw;
    case 'swallow':
      return undefined;
    case 'retag':
      return msg.type === 'C' ? commandComplete(a.tag) : msg.raw;
    case 'noData':
      return msg.type === 'T' ? noData() : msg.raw;
    case 'countTag':
      if (msg.type === 'T') return undefined;
      if (msg.type === 'D') {
        if (unit.count === undefined) unit.count = firstColumn(msg.body) ?? '0';
        return undefined;
      }
      if (msg.type === 'C' && done) return commandComplete(`${a.prefix} ${unit.count ?? '0'}`);
      return msg.raw;
  }
}

function firstColumn(body: Buffer): string | undefined {
  const r = new BodyReader(body);
  if (r.int16() < 1) return undefined;
  const len = r.int32();
  return len < 0 ? undefined : r.bytes(len).toString('utf8');
}

/**
 * Errors and notices raised inside emulator functions would show "CONTEXT: PL/pgSQL function
 * _crdb_emulator..." in psql; CockroachDB has no such line, so drop the Where field for them.
 */
function stripEmulatorContext(type: 'E' | 'N', msg: Message): Buffer {
  const fields = parseFields(msg.body);
  const where = fields.get('W');
  if (where === undefined || !EMULATOR_CONTEXT.test(where)) return msg.raw;
  fields.delete('W');
  // File/line/routine point into PL/pgSQL internals; they mean nothing to a CockroachDB client.
  fields.delete('F');
  fields.delete('L');
  fields.delete('R');
  return fieldsMessage(type, fields);
}
