import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapePassword } from '../../src/lib/escape-password.js';

// F9 vectors from changefeed-and-molt-facts.md; only the space differs from molt (%20, not +).
const VECTORS: Array<[string, string]> = [
  ['a$52&', 'a%2452%26'],
  [';@;', '%3B%40%3B'],
  ['p@ss w0rd!', 'p%40ss%20w0rd%21'],
  ['-leading-hyphen', '-leading-hyphen'],
  ["it's(*)", 'it%27s%28%2A%29'],
  ['ümlaut', '%C3%BCmlaut'],
  ['abc~._-XYZ09', 'abc~._-XYZ09'],
  ['100%', '100%25'],
  ['a+b', 'a%2Bb'],
  ['C##MIGRATION_USER', 'C%23%23MIGRATION_USER'],
  ['x/y?z#w', 'x%2Fy%3Fz%23w'],
];

for (const [input, expected] of VECTORS) {
  test(`escapePassword(${JSON.stringify(input)}) = ${expected}`, () => {
    assert.equal(escapePassword(input), expected);
    assert.equal(decodeURIComponent(escapePassword(input)), input);
  });
}
