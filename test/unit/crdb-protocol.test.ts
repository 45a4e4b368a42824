// Unit tests of the emulator's startup-packet parser (src/sandbox/crdb/protocol/messages.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CANCEL_REQUEST, PROTOCOL_V3, SSL_REQUEST, cancelRequest, readStartup, startupMessage } from '../../src/sandbox/crdb/protocol/messages.js';

/** A StartupMessage with the given protocol code, as readStartup sees it (after the length word). */
const startupBody = (code: number, params: Record<string, string>) => {
  const packet = startupMessage(params);
  packet.writeInt32BE(code, 4);
  return packet.subarray(4);
};
const PARAMS = { user: 'alice', database: 'defaultdb', application_name: 'app', '_pq_.x': '1' };

test('3.0 startup: code and parameters', () => {
  const s = readStartup(startupBody(PROTOCOL_V3, PARAMS));
  assert.equal(s.code, PROTOCOL_V3);
  assert.deepEqual(Object.fromEntries(s.params), PARAMS);
});

test('3.x startup above 3.0 still carries its parameters (the session negotiates the version down)', () => {
  for (const minor of [1, 2]) {
    const s = readStartup(startupBody((3 << 16) | minor, PARAMS));
    assert.equal(s.code, (3 << 16) | minor);
    assert.deepEqual(Object.fromEntries(s.params), PARAMS);
  }
});

test('other codes: no parameters; CancelRequest carries its key', () => {
  assert.equal(readStartup(startupBody(SSL_REQUEST, {})).params.size, 0);
  assert.equal(readStartup(startupBody((4 << 16) | 0, { user: 'alice' })).params.size, 0);
  const c = readStartup(cancelRequest(7, 12345).subarray(4));
  assert.deepEqual([c.code, c.pid, c.secret, c.params.size], [CANCEL_REQUEST, 7, 12345, 0]);
});
