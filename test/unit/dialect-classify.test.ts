/** Error classification per dialect (retry / defer / fatal), from the codes each driver reports. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { TargetSchemaError } from '../../src/replicator/types.js';
import { classifyPg } from '../../src/replicator/dialects/postgres/errors.js';
import { classifyMy } from '../../src/replicator/dialects/mysql/errors.js';
import { classifyOracle } from '../../src/replicator/dialects/oracle/errors.js';

const err = (props: Record<string, unknown>, message = 'boom') => Object.assign(new Error(message), props);

describe('PostgreSQL classification', () => {
  const cases: [string, unknown, string][] = [
    ['serialization failure', err({ code: '40001' }), 'retry'],
    ['deadlock (not retried by MOLT)', err({ code: '40P01' }), 'retry'],
    ['lock not available', err({ code: '55P03' }), 'retry'],
    ['admin shutdown', err({ code: '57P01' }), 'retry'],
    ['connection exception class 08', err({ code: '08006' }), 'retry'],
    ['socket reset', err({ code: 'ECONNRESET' }), 'retry'],
    ['refused', err({ code: 'ECONNREFUSED' }), 'retry'],
    ['pg: terminated', new Error('Connection terminated unexpectedly'), 'retry'],
    ['foreign key', err({ code: '23503' }), 'defer'],
    ['unique violation', err({ code: '23505' }), 'fatal'],
    ['undefined column', err({ code: '42703' }), 'fatal'],
    ['schema error', new TargetSchemaError('x', 't', 'c'), 'fatal'],
    ['wrapped deadlock', new Error('apply failed', { cause: err({ code: '40P01' }) }), 'retry'],
    ['not an error', 'string', 'fatal'],
  ];
  for (const [name, e, want] of cases) it(name, () => assert.equal(classifyPg(e), want));
});

describe('MySQL / MariaDB classification', () => {
  const cases: [string, unknown, string][] = [
    ['deadlock 1213 (not retried by MOLT)', err({ errno: 1213, code: 'ER_LOCK_DEADLOCK' }), 'retry'],
    ['lock wait timeout 1205 (not retried by MOLT)', err({ errno: 1205, code: 'ER_LOCK_WAIT_TIMEOUT' }), 'retry'],
    ['gone away 2006', err({ errno: 2006 }), 'retry'],
    ['lost 2013', err({ errno: 2013 }), 'retry'],
    ['mysql2 connection lost', err({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true }), 'retry'],
    ['reset', err({ code: 'ECONNRESET' }), 'retry'],
    ['closed connection', new Error("Can't add new command when connection is in closed state"), 'retry'],
    ['child without parent 1452', err({ errno: 1452, code: 'ER_NO_REFERENCED_ROW_2' }), 'defer'],
    ['parent with children 1451', err({ errno: 1451, code: 'ER_ROW_IS_REFERENCED_2' }), 'defer'],
    ['duplicate 1062', err({ errno: 1062, code: 'ER_DUP_ENTRY' }), 'fatal'],
    ['access denied is fatal even when mysql2 marks it fatal', err({ errno: 1045, code: 'ER_ACCESS_DENIED_ERROR', fatal: true }), 'fatal'],
    ['data too long', err({ errno: 1406 }), 'fatal'],
    ['schema error', new TargetSchemaError('x', 't'), 'fatal'],
  ];
  for (const [name, e, want] of cases) it(name, () => assert.equal(classifyMy(e), want));
});

describe('Oracle classification', () => {
  const ora = (n: number, text = 'x') => err({ errorNum: n, code: `ORA-${String(n).padStart(5, '0')}` }, `ORA-${String(n).padStart(5, '0')}: ${text}`);
  const cases: [string, unknown, string][] = [
    ['deadlock ORA-00060', ora(60, 'deadlock detected while waiting for resource'), 'retry'],
    ['serialization ORA-08177', ora(8177), 'retry'],
    ['resource busy ORA-00054', ora(54), 'retry'],
    ['end of file ORA-03113', ora(3113), 'retry'],
    ['lost contact ORA-03135', ora(3135), 'retry'],
    ['NJS-500 wrapping ORA-03113', err({ code: 'NJS-500' }, 'NJS-500: connection to the Oracle Database was broken\nORA-03113: end-of-file'), 'retry'],
    ['NJS-503 cannot connect', err({ code: 'NJS-503' }, 'NJS-503: connection to host 127.0.0.1 port 1 could not be established'), 'retry'],
    ['parent key not found ORA-02291', ora(2291), 'defer'],
    ['child record found ORA-02292', ora(2292), 'defer'],
    ['unique ORA-00001', ora(1), 'fatal'],
    ['value too large ORA-12899', ora(12899), 'fatal'],
    ['invalid identifier ORA-00904', ora(904), 'fatal'],
    ['NJS-004 bad property', err({ code: 'NJS-004' }), 'fatal'],
    ['schema error', new TargetSchemaError('x', 't'), 'fatal'],
  ];
  for (const [name, e, want] of cases) it(name, () => assert.equal(classifyOracle(e), want));
});
