/**
 * Per-connection names for prepared statements and portals. Embedded PGlite is ONE PostgreSQL
 * session shared by every client connection, so two connections preparing a statement with the same
 * name (node-postgres names the engine's stable upserts) would collide ("prepared statement already
 * exists"), and one could execute the other's. Every non-empty name in Parse, Bind, Describe, Close
 * and Execute is therefore prefixed with the connection's own prefix on the way in; the unnamed
 * statement and portal stay unnamed (the server's lock keeps each extended-protocol batch whole).
 */
import { BodyReader } from '../crdb/protocol/index.js';

/** The name a statement or portal has in the shared session. */
export const sessionName = (prefix: string, name: string): string => (name === '' ? '' : `${prefix}${name}`);

function frame(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const cstring = (s: string): Buffer => Buffer.from(`${s}\0`, 'utf8');

export interface Renamed {
  /** The message to hand to PGlite. */
  raw: Buffer;
  /** A statement name this message creates (Parse) or drops (Close 'S'), as seen by the session. */
  prepared?: string;
  closed?: string;
}

/**
 * Rewrites one complete client message (type byte + length + body). Messages that carry no name, or
 * only empty names, are returned unchanged.
 */
export function renameMessage(prefix: string, type: string, body: Buffer, raw: Buffer): Renamed {
  switch (type) {
    case 'P': {
      const r = new BodyReader(body);
      const name = r.cstring();
      if (name === '') return { raw };
      const full = sessionName(prefix, name);
      return { raw: frame(type, Buffer.concat([cstring(full), r.rest()])), prepared: full };
    }
    case 'B': {
      const r = new BodyReader(body);
      const portal = r.cstring();
      const statement = r.cstring();
      if (portal === '' && statement === '') return { raw };
      return { raw: frame(type, Buffer.concat([cstring(sessionName(prefix, portal)), cstring(sessionName(prefix, statement)), r.rest()])) };
    }
    case 'D':
    case 'C': {
      const r = new BodyReader(body);
      const kind = r.bytes(1);
      const name = r.cstring();
      if (name === '') return { raw };
      const full = sessionName(prefix, name);
      return { raw: frame(type, Buffer.concat([kind, cstring(full)])), ...(type === 'C' && kind.toString('latin1') === 'S' ? { closed: full } : {}) };
    }
    case 'E': {
      const r = new BodyReader(body);
      const portal = r.cstring();
      if (portal === '') return { raw };
      return { raw: frame(type, Buffer.concat([cstring(sessionName(prefix, portal)), r.rest()])) };
    }
    default:
      return { raw };
  }
}
