// Unit tests of the emulator's response tracker: which backend replies reach the client, and how.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseTracker, PASS, SWALLOW } from '../../src/sandbox/crdb/server/tracker.js';
import { MessageReader, commandComplete, fieldsMessage, parseFields, readyForQuery, type Message } from '../../src/sandbox/crdb/protocol/messages.js';

const msg = (buf: Buffer): Message => {
  const r = new MessageReader();
  r.push(buf);
  return r.next() as Message;
};
const typed = (type: string, body: Buffer = Buffer.alloc(0)) => {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return msg(Buffer.concat([head, body]));
};
const dataRow = (v: string) => {
  const b = Buffer.from(v);
  const body = Buffer.alloc(2 + 4 + b.length);
  body.writeInt16BE(1, 0);
  body.writeInt32BE(b.length, 2);
  b.copy(body, 6);
  return typed('D', body);
};
const tagOf = (b: Buffer | undefined) => (b ? b.subarray(5, b.length - 1).toString() : undefined);

test('opaque batches pass byte for byte', () => {
  const t = new ResponseTracker();
  let ready = '';
  t.addQuery('opaque', { onReady: (s) => (ready = s) });
  const c = msg(commandComplete('SELECT 1'));
  assert.equal(t.process(c), c.raw);
  assert.equal(t.process(msg(readyForQuery('T')))?.length, 6);
  assert.equal(ready, 'T');
  assert.equal(t.pending, false);
});

test('inline injected statements are swallowed, tags rewritten, counts turned into tags', () => {
  const t = new ResponseTracker();
  t.addQuery([{ action: PASS }, { action: SWALLOW }, { action: { kind: 'retag', tag: 'SET CLUSTER SETTING' } }, { action: { kind: 'countTag', prefix: 'PAUSE JOBS' } }]);
  assert.equal(tagOf(t.process(msg(commandComplete('CREATE TABLE')))), 'CREATE TABLE');
  assert.equal(t.process(msg(commandComplete('CALL'))), undefined);
  assert.equal(tagOf(t.process(msg(commandComplete('CALL')))), 'SET CLUSTER SETTING');
  assert.equal(t.process(typed('T', Buffer.from([0, 1]))), undefined);
  assert.equal(t.process(dataRow('1')), undefined);
  assert.equal(tagOf(t.process(msg(commandComplete('SELECT 1')))), 'PAUSE JOBS 1');
  assert.ok(t.process(msg(readyForQuery('I'))));
});

test('an error ends the batch; emulator PL/pgSQL context is removed from it', () => {
  const t = new ResponseTracker();
  t.addQuery([{ action: { kind: 'retag', tag: 'X' } }, { action: SWALLOW }]);
  const e = msg(fieldsMessage('E', { S: 'ERROR', C: 'XXUUU', M: 'boom', W: 'PL/pgSQL function _crdb_emulator.raise(text,text,text) line 4 at RAISE', F: 'pl_exec.c', L: '1', R: 'exec_stmt_raise' }));
  const out = t.process(e) as Buffer;
  const fields = parseFields(out.subarray(5));
  assert.equal(fields.get('M'), 'boom');
  assert.equal(fields.has('W'), false);
  assert.equal(fields.has('R'), false);
  assert.ok(t.process(msg(readyForQuery('E'))));
  const plain = msg(fieldsMessage('E', { S: 'ERROR', C: '42P01', M: 'relation "x" does not exist' }));
  assert.equal(t.process(plain), plain.raw, 'errors not from the emulator are untouched');
});

test('extended protocol: describe NoData for count statements, swallow-all injected query after Sync', () => {
  const t = new ResponseTracker();
  t.addExtended('parse');
  t.addExtended('bind');
  t.addExtended('describe', { kind: 'noData' });
  t.addExtended('execute', { kind: 'countTag', prefix: 'CANCEL JOBS' });
  t.addSync();
  t.addQuery('opaque', { swallowAll: true });
  assert.ok(t.process(typed('1')));
  assert.ok(t.process(typed('2')));
  assert.equal(t.process(typed('T', Buffer.from([0, 1])))?.toString('latin1', 0, 1), 'n');
  assert.equal(t.process(typed('T', Buffer.from([0, 1]))), undefined);
  assert.equal(t.process(dataRow('2')), undefined);
  assert.equal(tagOf(t.process(msg(commandComplete('SELECT 1')))), 'CANCEL JOBS 2');
  assert.ok(t.process(msg(readyForQuery('I'))));
  assert.equal(t.process(msg(commandComplete('CALL'))), undefined);
  assert.equal(t.process(msg(readyForQuery('I'))), undefined);
  assert.equal(t.pending, false);
});
