import { Flags } from '@oclif/core';
import { BaseCommand, type CommandOutcome } from '../lib/base-command.js';
import { AppError, ExitCode } from '../lib/errors.js';
import { escapePassword } from '../lib/escape-password.js';
import { askSecret } from '../lib/prompt.js';
import { promptIo } from '../steps/terminal.js';

export default class EscapePassword extends BaseCommand {
  static override summary = 'Percent-encode a password for the userinfo part of a connection URL.';
  static override description = [
    'Prints the encoded password alone on stdout, so PW=$(molt-failback escape-password --password "...") works;',
    'the explanation goes to stderr. Matches `molt escape-password` (a$52& gives a%2452%26), except that a space',
    'becomes %20 rather than "+", which connection-URL parsers would read back as a literal plus.',
    'Without --password and in a terminal, asks with a masked prompt so the password stays out of shell history.',
  ].join('\n');
  static override examples = [
    "<%= config.bin %> escape-password --password 'a$52&'",
    'export TARGET="postgres://migration_user:$(<%= config.bin %> escape-password)@db:5432/migration_db"',
  ];
  static override flags = {
    password: Flags.string({ description: 'The password to encode (quote it in single quotes).' }),
  };

  protected async execute(): Promise<CommandOutcome> {
    const { flags } = await this.parse(EscapePassword);
    let password = flags.password;
    if (password === undefined) {
      if (!process.stdin.isTTY) {
        throw new AppError('MISSING_INPUT', 'No --password given and no terminal to ask for one.', {
          exitCode: ExitCode.MISSING_INPUT,
          actions: ["Pass it as --password '<password>' (single quotes keep the shell from expanding it)."],
        });
      }
      // Under $(...) stdout is a pipe: the prompt draws on stderr so the captured value is the encoding alone.
      password = await askSecret('Password to encode', promptIo(this.jsonMode));
    }
    if (password === '') {
      throw new AppError('EMPTY_PASSWORD', 'received empty password string', { exitCode: ExitCode.USAGE });
    }
    const encoded = escapePassword(password);
    if (!this.jsonMode) process.stderr.write('Substitute the following encoded password in your original connection url string:\n');
    return { result: { encoded }, human: encoded };
  }
}
