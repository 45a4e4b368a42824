/** Canonical text forms for verification (NormalisedRow) and the timestamp text helpers. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  canonicalBool,
  canonicalByClass,
  canonicalBytes,
  canonicalDate,
  canonicalDecimal,
  canonicalFloat,
  canonicalFloat32,
  canonicalJson,
  canonicalTime,
  canonicalTimestamp,
  canonicalTimestamptz,
  canonicalUuid,
} from '../../src/replicator/dialects/shared/canonical.js';
import { formatDateTime, parseDateTime, toUtc } from '../../src/replicator/dialects/shared/timestamps.js';
import { plainDecimal } from '../../src/replicator/dialects/shared/values.js';

describe('canonical decimals', () => {
  const cases: [string, string][] = [
    ['125.50', '125.5'],
    ['3.000', '3'],
    ['-0', '0'],
    ['-0.000', '0'],
    ['0007', '7'],
    ['.5', '0.5'],
    ['-.5', '-0.5'],
    ['1.5E+3', '1500'],
    ['1e2', '100'],
    ['4E+2', '400'],
    ['1.23e-4', '0.000123'],
    ['-12.3400e1', '-123.4'],
    ['123456789012345678901234567890.1234567890', '123456789012345678901234567890.123456789'],
    ['NaN', 'NaN'],
    ['Infinity', 'Infinity'],
  ];
  for (const [input, want] of cases) it(`${input} -> ${want}`, () => assert.equal(canonicalDecimal(input), want));

  it('plainDecimal only expands exponents, keeping the digits as sent', () => {
    assert.equal(plainDecimal('125.50'), '125.50');
    assert.equal(plainDecimal('4E+2'), '400');
    assert.equal(plainDecimal('1.50e1'), '15.0');
    assert.equal(plainDecimal('-2.5E-3'), '-0.0025');
    assert.equal(plainDecimal('9007199254740993'), '9007199254740993');
  });
});

describe('canonical floats, booleans, bytes, UUIDs', () => {
  it('floats are the shortest round-trip JS text', () => {
    assert.equal(canonicalFloat('0.1'), '0.1');
    assert.equal(canonicalFloat('1e+21'), '1e+21');
    assert.equal(canonicalFloat('-1.5e-07'), '-1.5e-7');
    assert.equal(canonicalFloat('0.30000000000000004'), '0.30000000000000004');
    assert.equal(canonicalFloat('-0'), '0');
    assert.equal(canonicalFloat('inf'), 'Infinity');
    assert.equal(canonicalFloat('-Infinity'), '-Infinity');
    assert.equal(canonicalFloat('NaN'), 'NaN');
  });
  it('32-bit floats widened by a driver read as the database would print them', () => {
    assert.equal(canonicalFloat32(Math.fround(0.1)), '0.1');
    assert.equal(canonicalFloat32(Math.fround(3.14159)), '3.14159');
    assert.equal(canonicalFloat32(16777216), '16777216');
  });
  it('booleans from every dialect', () => {
    for (const t of ['t', 'true', '1', 'TRUE', 'yes']) assert.equal(canonicalBool(t), 'true');
    for (const f of ['f', 'false', '0', 'no']) assert.equal(canonicalBool(f), 'false');
    assert.equal(canonicalBool(Buffer.from([1])), 'true');
    assert.equal(canonicalBool(Buffer.from([0])), 'false');
    assert.equal(canonicalBool(true), 'true');
  });
  it('bytes as lower-case hex', () => {
    assert.equal(canonicalBytes('\\x00FF10'), '00ff10');
    assert.equal(canonicalBytes(Buffer.from([0, 255, 16])), '00ff10');
  });
  it('UUIDs from text, 32 hex digits and 16 bytes', () => {
    const u = '8d6d2c1e-6a0b-4f6e-9a57-0f8a3f2f1b44';
    assert.equal(canonicalUuid(u.toUpperCase()), u);
    assert.equal(canonicalUuid(u.replace(/-/g, '')), u);
    assert.equal(canonicalUuid(Buffer.from(u.replace(/-/g, ''), 'hex')), u);
    assert.equal(canonicalUuid('{8D6D2C1E-6A0B-4F6E-9A57-0F8A3F2F1B44}'), u);
    assert.equal(canonicalUuid('not-a-uuid'), 'not-a-uuid');
  });
});

describe('canonical JSON', () => {
  it('sorts keys, compacts and canonicalises numbers', () => {
    assert.equal(canonicalJson('{"b": [1, 2.50, 1e2], "a": {"z": null, "y": true}}'), '{"a":{"y":true,"z":null},"b":[1,2.5,100]}');
  });
  it('keeps big integers exact', () => {
    assert.equal(canonicalJson('{"n": 1101234051444375553}'), '{"n":1101234051444375553}');
  });
  it('escapes strings the same way whatever the input escaping', () => {
    assert.equal(canonicalJson('{"s":"caf\\u00e9 \\"q\\""}'), canonicalJson('{"s":"café \\"q\\""}'));
  });
  it('returns invalid JSON text unchanged', () => {
    assert.equal(canonicalJson('{oops'), '{oops');
  });
});

describe('canonical dates and times', () => {
  it('timestamps without zone: 6 fraction digits, T separator', () => {
    assert.equal(canonicalTimestamp('2025-09-30 15:42:02'), '2025-09-30T15:42:02.000000');
    assert.equal(canonicalTimestamp('2025-09-30 15:42:02.5'), '2025-09-30T15:42:02.500000');
    assert.equal(canonicalTimestamp('2025-09-30T15:42:02.1234567'), '2025-09-30T15:42:02.123456');
  });
  it('timestamptz: the UTC instant with Z', () => {
    assert.equal(canonicalTimestamptz('2025-09-30 15:42:02.007+00'), '2025-09-30T15:42:02.007000Z');
    assert.equal(canonicalTimestamptz('2025-09-30T15:42:02.007123+02:00'), '2025-09-30T13:42:02.007123Z');
    assert.equal(canonicalTimestamptz('2025-01-01T01:30:00+05:30'), '2024-12-31T20:00:00.000000Z');
    assert.equal(canonicalTimestamptz('2025-09-30 15:42:02'), '2025-09-30T15:42:02.000000Z');
    assert.equal(canonicalTimestamptz('infinity'), 'infinity');
  });
  it('dates and times', () => {
    assert.equal(canonicalDate('2025-09-30'), '2025-09-30');
    assert.equal(canonicalDate('2025-09-30 00:00:00'), '2025-09-30');
    assert.equal(canonicalTime('01:02:03'), '01:02:03.000000');
    assert.equal(canonicalTime('01:02:03.5'), '01:02:03.500000');
    assert.equal(canonicalTime('01:02:03.5+02'), '01:02:03.500000');
    assert.equal(canonicalTime('-838:59:59'), '-838:59:59.000000');
  });
  it('parses BC years and converts across midnight and month ends', () => {
    assert.equal(parseDateTime('0044-03-15 BC')!.year, -43);
    assert.equal(formatDateTime(toUtc(parseDateTime('2024-03-01T00:30:00+01:00')!)), '2024-02-29T23:30:00.000000');
    assert.equal(parseDateTime('yesterday'), undefined);
  });
  it('canonicalByClass dispatches by column class and keeps text classes as stored', () => {
    assert.equal(canonicalByClass('int', '+42'), '42');
    assert.equal(canonicalByClass('text', ' padded '), ' padded ');
    assert.equal(canonicalByClass('enum', 'happy'), 'happy');
    assert.equal(canonicalByClass('uuid', Buffer.alloc(16, 0xab)), 'abababab-abab-abab-abab-abababababab');
    assert.equal(canonicalByClass('bytes', Buffer.from('hi')), '6869');
  });
});
