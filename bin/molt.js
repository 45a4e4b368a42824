#!/usr/bin/env node
// `molt` alias: only `molt escape-password` exists, so commands copied from MOLT's documentation work.
import { execute } from '@oclif/core';

const [command, ...rest] = process.argv.slice(2);
if (command === '--help' || command === '-h' || command === 'help') {
  process.stdout.write(
    'molt (molt-failback): only `molt escape-password` is provided, so commands copied from MOLT\'s documentation work.\n\n' +
      "USAGE\n  $ molt escape-password --password '<password>'\n\nEverything else: molt-failback --help\n",
  );
  process.exit(0);
}
if (command !== 'escape-password') {
  process.stderr.write(
    `molt: only "escape-password" is provided by molt-failback (got ${command ? JSON.stringify(command) : 'no command'}).\n` +
      'Try this: molt escape-password --password \'<password>\'\n',
  );
  process.exit(2);
}
await execute({ args: ['escape-password', ...rest], dir: new URL('./run.js', import.meta.url).href });
