/**
 * The golden SQL cases, live: for each case and each live target (PostgreSQL, MariaDB) create the
 * table, check introspection returns the case's TableInfo, check the SQL rendered from the
 * introspected catalog is the golden file, run the case twice (idempotent) and read the rows back in
 * canonical form, which must be the same for both databases.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { openTarget } from '../../src/replicator/dialects/index.js';
import type { WriteResult } from '../../src/replicator/types.js';
import { casesFor, ddlFor, GOLDEN_SCHEMAS, renderCase, tableFor } from '../golden/cases.js';
import { closeLiveTargets, openLiveTargets, type LiveTarget } from '../golden/live.js';

const goldenDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden');
let targets: LiveTarget[] = [];

before(async () => {
  targets = await openLiveTargets('dialect_cases');
});
after(async () => {
  await closeLiveTargets(targets);
});

for (const dialect of ['postgres', 'mysql'] as const) {
  describe(`golden cases on live ${dialect === 'postgres' ? 'PostgreSQL' : 'MariaDB'}`, () => {
    for (const c of casesFor(dialect).filter((x) => !x.renderOnly)) {
      it(c.name, async () => {
        const t = targets.find((x) => x.dialect === dialect)!;
        await t.pool.execAdmin([ddlFor(dialect, c, t.table(c.table))]);
        const info = await t.pool.introspect(t.schema);
        assert.ok(info, 'schema exists');
        const table = info.tables.get(c.table)!;
        assert.deepEqual(table, tableFor(dialect, c), 'introspected catalog matches the case fixture');

        // Rendered from the live catalog (with the golden schema name) = the golden file.
        const golden = readFileSync(join(goldenDir, dialect, `${c.name}.sql`), 'utf8');
        assert.equal(renderCase(dialect, { ...c }, GOLDEN_SCHEMAS[dialect]), golden);

        // Cases with their own limits run through a pool configured with them.
        const pool = c.limits ? await openTarget(t.db.url, { maxRowsPerStatement: c.limits.maxRowsPerStatement }) : t.pool;
        if (pool !== t.pool) t.extraPools.push(pool);
        const goldenStatements = golden.split(/;\n-- params: /).length - 1;

        if (c.setup) await pool.transaction((tx) => tx.upsert(info.schema, table, c.setup!));
        for (let round = 0; round < 2; round++) {
          const op = c.op;
          const r: WriteResult = await pool.transaction((tx) =>
            op.kind === 'upsert' ? tx.upsert(info.schema, table, op.rows) : tx.delete(info.schema, table, op.keys),
          );
          assert.equal(r.statements, goldenStatements, 'as many statements as the golden file shows');
          const rows = await t.pool.readRows(info.schema, table, { limit: 100 });
          assert.deepEqual(rows, c.expected, `rows after round ${round + 1}`);
        }
      });
    }
  });
}
