/**
 * Golden SQL: every case of cases.ts rendered for every dialect and compared byte for byte with
 * test/golden/<dialect>/<case>.sql. After an intended change, regenerate with
 *   UPDATE_GOLDEN=1 node --import tsx --test test/golden/golden.test.ts
 * and review the diff. The switch is refused under CI=true so a run can never bless its own output.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import type { DialectName } from '../../src/replicator/types.js';
import { casesFor, renderCase } from './cases.js';

const here = dirname(fileURLToPath(import.meta.url));
const update = process.env.UPDATE_GOLDEN === '1';
const ci = process.env.CI === 'true' || process.env.CI === '1';

describe('golden SQL', () => {
  it('is not being rewritten in CI', () => {
    assert.ok(!(update && ci), 'UPDATE_GOLDEN=1 must not be set in CI: golden files are reviewed changes, not generated ones');
  });

  for (const dialect of ['postgres', 'mysql', 'oracle'] as DialectName[]) {
    describe(dialect, () => {
      for (const c of casesFor(dialect)) {
        it(c.name, () => {
          const file = join(here, dialect, `${c.name}.sql`);
          const actual = renderCase(dialect, c);
          if (update && !ci) {
            mkdirSync(dirname(file), { recursive: true });
            writeFileSync(file, actual);
            return;
          }
          assert.ok(existsSync(file), `missing golden file ${file}; run with UPDATE_GOLDEN=1 to create it`);
          assert.equal(actual, readFileSync(file, 'utf8'), `rendered SQL differs from ${file}`);
        });
      }
    });
  }
});
