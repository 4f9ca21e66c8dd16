import type { Command } from 'commander';
import { AirlockError } from '../../core/errors.js';
import { formatDuration, parseDuration } from '../../core/policy/units.js';
import { engine } from '../context.js';
import { out, outJsonLines } from '../stdout.js';
import { table } from './tasks.js';
import { readSecret } from '../secret-input.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerCredentialCommands(program: Command): void {
  const cred = program.command('cred').description('credentials kept in the OS keychain, lent to tasks for a while');
  cred
    .command('add')
    .description('store a credential; the secret is read from standard input (never an argument)')
    .argument('<name>', 'a name such as vendor-api')
    .requiredOption('--host <host>', 'a host it may be used with (repeatable): api.vendor.test, *.vendor.test, host:8443', collect)
    .option('--header <template>', 'how it goes into a request', 'Authorization: Bearer {secret}')
    .option('--max-ttl <duration>', 'the longest a task may hold it', '1h')
    .option('--description <text>', 'what it is for')
    .action(async (name: string, opts: { host: string[]; header: string; maxTtl: string; description?: string }) => {
      const maxTtlMs = parseDuration(opts.maxTtl);
      if (maxTtlMs === undefined) throw new AirlockError('bad_argument', `--max-ttl: '${opts.maxTtl}' is not a duration`, 'write e.g. 15m or 1h');
      const client = await engine();
      const secret = await readSecret(`secret for ${name}: `);
      // Checked here first, so a refusal names the flag; the engine checks it again.
      const { checkCredentialInput } = await import('../../core/credentials/store.js'); // the store's own checks, loaded when used
      const { hosts, header } = checkCredentialInput({ name, secret, hosts: opts.host, header: opts.header });
      await client.call('credentials.add', { name, secret, hosts, header, maxTtlMs, ...(opts.description ? { description: opts.description } : {}) });
      const info = (await client.call('credentials.list')).find((c) => c.name === name);
      out(`stored ${name} in the OS keychain: for ${(info?.hosts ?? opts.host).join(', ')}, at most ${formatDuration(info?.maxTtlMs ?? maxTtlMs)} per task\n`);
    });
  cred
    .command('ls')
    .description('list credentials (never their values)')
    .option('--json', 'one JSON object per credential')
    .action(async (opts: { json?: boolean }) => {
      const all = await (await engine()).call('credentials.list');
      if (opts.json) {
        outJsonLines(all);
        return;
      }
      if (all.length === 0) {
        out('no credentials: add one with `printf %s "$TOKEN" | airlock cred add <name> --host <host>`\n');
        return;
      }
      out(table(['NAME', 'HOSTS', 'HEADER', 'MAX TTL', 'DESCRIPTION'], all.map((c) => [c.name, c.hosts.join(','), c.header.replace('{secret}', '…'), formatDuration(c.maxTtlMs), c.description ?? ''])));
    });
  cred
    .command('rm')
    .description('remove a credential from the keychain and from Airlock')
    .argument('<name>')
    .action(async (name: string) => {
      await (await engine()).call('credentials.remove', name);
      out(`removed ${name}\n`);
    });
}
