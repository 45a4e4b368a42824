#!/usr/bin/env node
/**
 * Pre-renders the help text of the CLI and of every command and topic into dist/help/, after the oclif
 * manifest is written. bin/run.js prints these files for plain help requests without loading
 * @oclif/core, whose ~475 modules alone take longer than the 250 ms start-up budget on Node 20 (which
 * has no module compile cache). The text comes from oclif itself, in the same build, so it cannot drift.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8'));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const out = join(root, 'dist', 'help');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const ids = new Set(['', ...Object.keys(manifest.commands), ...Object.keys(pkg.oclif?.topics ?? {})]);
for (const id of ids) {
  const words = id ? id.split(':') : [];
  const text = execFileSync(process.execPath, [join(root, 'bin', 'run.js'), ...words, '--help'], {
    cwd: root,
    env: { ...process.env, MOLT_FAILBACK_NO_FAST_HELP: '1', OCLIF_COLUMNS: '100', NO_COLOR: '1' },
    encoding: 'utf8',
  });
  writeFileSync(join(out, `${id === '' ? '_root' : id.replaceAll(':', '.')}.txt`), text);
}
process.stdout.write(`wrote help for ${ids.size} commands and topics to dist/help\n`);
