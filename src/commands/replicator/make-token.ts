import { appendFileSync, chmodSync, existsSync } from 'node:fs';
import { Flags } from '@oclif/core';
import { BaseCommand, type CommandOutcome } from '../../lib/base-command.js';
import { mintToken, writeTokenFile } from '../../replicator/index.js';

export default class ReplicatorMakeToken extends BaseCommand {
  static override summary = 'Mint a random bearer token for the replicator webhook.';
  static override description = [
    'Without --out, prints a new token (256 random bits, base64url) on stdout.',
    'With --out, writes it to FILE with mode 0600 (or adds it as a new line with --append, for rotation: the engine',
    "accepts every line of --authTokenFile and re-reads it on SIGHUP) and prints the changefeed's",
    "webhook_auth_header value, 'Bearer <token>', on stdout.",
  ].join('\n');
  static override examples = [
    '<%= config.bin %> replicator make-token --out replicator.token',
    "CREATE CHANGEFEED ... WITH webhook_auth_header='$(<%= config.bin %> replicator make-token --out replicator.token)'",
  ];
  static override flags = {
    out: Flags.string({ description: 'Write the token to this file (mode 0600) instead of printing it; prints the header value instead.' }),
    append: Flags.boolean({ description: 'Add the token as a new line of --out instead of replacing the file (token rotation).', dependsOn: ['out'] }),
  };

  protected async execute(): Promise<CommandOutcome> {
    const { flags } = await this.parse(ReplicatorMakeToken);
    const token = mintToken();
    const header = `Bearer ${token}`;
    if (!flags.out) return { result: { token, header }, human: token };
    if (flags.append && existsSync(flags.out)) {
      appendFileSync(flags.out, `${token}\n`, { mode: 0o600 });
      chmodSync(flags.out, 0o600);
    } else {
      writeTokenFile(flags.out, token);
    }
    if (!this.jsonMode) process.stderr.write(`Wrote a new token to ${flags.out} (mode 0600). Use this as the changefeed's webhook_auth_header:\n`);
    return { result: { file: flags.out, header }, human: header };
  }
}
