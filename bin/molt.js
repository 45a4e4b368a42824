#!/usr/bin/env node
// `molt` alias: only `molt escape-password` exists, so commands copied from MOLT's documentation work.
import { execute } from '@oclif/core';

const [command, ...rest] = process.argv.slice(2);
if (command !== 'escape-password') {
  process.stderr.write(
    `molt: only "escape-password" is provided by molt-failback (got ${command ? JSON.stringify(command) : 'no command'}).\n` +
      'Try this: molt escape-password --password \'<password>\'\n',
  );
  process.exit(2);
}
await execute({ args: ['escape-password', ...rest], dir: new URL('./run.js', import.meta.url).href });
