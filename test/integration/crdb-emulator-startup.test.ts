// The emulator's startup handshake over a raw socket: a client asking for a protocol minor version
// above 3.0 gets NegotiateProtocolVersion (3.0, listing the _pq_ options it sent) and its startup
// parameters (database, application_name) still take effect.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startCrdbEmulator, type CrdbEmulator } from '../../src/sandbox/crdb/index.js';
import { BodyReader, MessageReader, parseFields, passwordMessage, query, startupMessage, terminate, type Message } from '../../src/sandbox/crdb/protocol/messages.js';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.js';

const PASSWORD = 'startup pw';
let db: TestDatabase;
let emu: CrdbEmulator;

before(async () => {
  db = await createPgDatabase('crdb_startup');
  emu = await startCrdbEmulator({ backend: { url: db.url }, password: PASSWORD });
});

after(async () => {
  await emu?.stop();
  await db?.drop();
});

/** A raw client: sends a StartupMessage with the given protocol code and reads typed messages. */
async function rawClient(code: number, params: Record<string, string>) {
  const port = Number(new URL(emu.url).port);
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const reader = new MessageReader();
  const queue: Message[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  socket.on('data', (chunk: Buffer) => {
    reader.push(chunk);
    for (let m = reader.next(); m; m = reader.next()) queue.push(m);
    wake?.();
  });
  socket.on('close', () => {
    ended = true;
    wake?.();
  });
  const next = async (): Promise<Message> => {
    while (queue.length === 0) {
      if (ended) throw new Error('connection closed');
      await new Promise<void>((resolve) => (wake = resolve));
    }
    return queue.shift() as Message;
  };
  /** Messages up to and including the first of one of `types`. */
  const until = async (...types: string[]): Promise<Message[]> => {
    const out: Message[] = [];
    for (;;) {
      const m = await next();
      out.push(m);
      if (types.includes(m.type)) return out;
    }
  };
  const packet = startupMessage(params);
  packet.writeInt32BE(code, 4);
  socket.write(packet);
  return { socket, next, until };
}

function negotiated(m: Message): { minor: number; options: string[] } {
  assert.equal(m.type, 'v');
  const r = new BodyReader(m.body);
  const minor = r.int32();
  const options = Array.from({ length: r.int32() }, () => r.cstring());
  return { minor, options };
}

test('protocol 3.2 with a _pq_ option: negotiated down to 3.0, and the startup parameters are used', async () => {
  const c = await rawClient((3 << 16) | 2, { user: 'root', database: 'defaultdb', application_name: 'startup-3.2', '_pq_.x': 'on' });
  try {
    assert.deepEqual(negotiated(await c.next()), { minor: 0, options: ['_pq_.x'] });
    const auth = await c.next();
    assert.equal(auth.type, 'R');
    assert.equal(auth.body.readInt32BE(0), 3); // cleartext password
    c.socket.write(passwordMessage(PASSWORD));
    const startup = await c.until('Z', 'E');
    assert.equal(startup.at(-1)?.type, 'Z', 'the session starts');
    const status = new Map<string, string>();
    for (const m of startup.filter((x) => x.type === 'S')) {
      const r = new BodyReader(m.body);
      status.set(r.cstring(), r.cstring());
    }
    assert.equal(status.get('application_name'), 'startup-3.2');
    c.socket.write(query("SELECT current_setting('application_name') AS a"));
    const reply = await c.until('Z');
    const row = reply.find((m) => m.type === 'D');
    assert.ok(row, 'a data row');
    const r = new BodyReader(row.body);
    r.int16();
    assert.equal(r.bytes(r.int32()).toString(), 'startup-3.2');
    c.socket.write(terminate());
  } finally {
    c.socket.destroy();
  }
});

test('protocol 3.1: the database parameter is checked like on 3.0', async () => {
  const c = await rawClient((3 << 16) | 1, { user: 'root', database: 'nosuchdb' });
  try {
    assert.deepEqual(negotiated(await c.next()), { minor: 0, options: [] });
    assert.equal((await c.next()).type, 'R');
    c.socket.write(passwordMessage(PASSWORD));
    const reply = await c.until('Z', 'E');
    const err = reply.at(-1) as Message;
    assert.equal(err.type, 'E');
    const fields = parseFields(err.body);
    assert.equal(fields.get('C'), '3D000');
    assert.equal(fields.get('M'), 'database "nosuchdb" does not exist');
  } finally {
    c.socket.destroy();
  }
});
