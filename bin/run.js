#!/usr/bin/env node
// Built CLI entry point: commands are loaded from dist/ (compiled by `npm run build`, run by `prepare`).
import { readFileSync } from 'node:fs';

/**
 * Plain help requests ("molt-failback", "--help", "<command> --help", "help <command>") are answered from
 * text pre-rendered by oclif at build time (scripts/build-help.mjs): loading @oclif/core alone costs more
 * than the CLI's start-up budget. Anything else, or a missing file, goes through oclif as usual.
 */
function fastHelp(argv) {
  if (process.env.MOLT_FAILBACK_NO_FAST_HELP) return false;
  let words = argv;
  if (words[0] === 'help') words = words.slice(1);
  else if (words.length > 0) {
    const last = words[words.length - 1];
    if (last !== '--help' && last !== '-h') return false;
    words = words.slice(0, -1);
  }
  if (words.some((w) => w.startsWith('-'))) return false;
  const id = words.length === 0 ? '_root' : words.join('.');
  if (!/^[a-z0-9._-]+$/.test(id)) return false;
  try {
    process.stdout.write(readFileSync(new URL(`../dist/help/${id}.txt`, import.meta.url)));
    return true;
  } catch {
    return false;
  }
}

if (!fastHelp(process.argv.slice(2))) {
  const { execute } = await import('@oclif/core');
  await execute({ dir: import.meta.url });
}
