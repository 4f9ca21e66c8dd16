import type { Command } from 'commander';
import { AirlockError } from '../../core/errors.js';
import { formatDuration, parseDuration } from '../../core/policy/units.js';
import { engine } from '../context.js';
import { out, outJsonLines } from '../stdout.js';
import { table } from './tasks.js';
import { readSecret } from '../secret-input.js';
import type { Injection } from '../../core/credentials/injection.js';
import { describeInjection } from '../../core/text/injection-display.js';
import { CREDENTIAL_PRESETS, credentialPreset, presetAddCommand } from '../../core/credentials/presets.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

interface AddOptions { preset?: string; host?: string[]; header?: string; query?: string; basic?: string | true; maxTtl: string; description?: string }

/**
 * Hosts and injection from the flags: a preset fills both (and a description), and a flag given
 * explicitly replaces what the preset says (`--host` replaces its hosts: a company gateway).
 */
export function credentialFromFlags(opts: Omit<AddOptions, 'maxTtl'>): { hosts: string[]; inject: Injection | undefined; description: string | undefined } {
  const forms = [opts.header !== undefined, opts.query !== undefined, opts.basic !== undefined].filter(Boolean).length;
  if (forms > 1) throw new AirlockError('bad_argument', '--header, --query and --basic each say where the secret goes: give one', 'e.g. --query key');
  const preset = opts.preset !== undefined ? credentialPreset(opts.preset) : undefined;
  const inject: Injection | undefined = opts.header !== undefined ? { kind: 'header', template: opts.header }
    : opts.query !== undefined ? { kind: 'query', param: opts.query }
      : opts.basic !== undefined ? (opts.basic === true ? { kind: 'basic' } : { kind: 'basic', user: opts.basic })
        : preset?.inject;
  const hosts = opts.host ?? preset?.hosts ?? [];
  if (hosts.length === 0) throw new AirlockError('bad_argument', '--host: at least one host is needed', `e.g. --host api.vendor.test, or a provider's with --preset (${Object.keys(CREDENTIAL_PRESETS).join(', ')})`);
  return { hosts: [...hosts], inject, description: preset?.description };
}

export function registerCredentialCommands(program: Command): void {
  const cred = program.command('cred').description('credentials kept in the OS keychain, lent to tasks for a while');
  cred
    .command('add')
    .description('store a credential; the secret is read from standard input or a hidden prompt (never an argument)')
    .argument('<name>', 'a name such as vendor-api')
    .option('--preset <provider>', `hosts and injection of a provider: ${Object.keys(CREDENTIAL_PRESETS).join(', ')}`)
    .option('--host <host>', 'a host it may be used with (repeatable; replaces a preset\'s): api.vendor.test, *.vendor.test, host:8443', collect)
    .option('--header <template>', 'the secret in a header (default: \'Authorization: Bearer {secret}\')')
    .option('--query <param>', 'the secret as the query parameter ?<param>=')
    .option('--basic [user]', 'the secret as the password of Basic authorization, with this user (default: the user the client sends)')
    .option('--max-ttl <duration>', 'the longest a task may hold it', '1h')
    .option('--description <text>', 'what it is for')
    .action(async (name: string, opts: AddOptions) => {
      const maxTtlMs = parseDuration(opts.maxTtl);
      if (maxTtlMs === undefined) throw new AirlockError('bad_argument', `--max-ttl: '${opts.maxTtl}' is not a duration`, 'write e.g. 15m or 1h');
      const wanted = credentialFromFlags(opts);
      const client = await engine();
      const secret = await readSecret(`secret for ${name} (not shown): `);
      // Checked here first, so a refusal names the flag; the engine checks it again.
      const { checkCredentialInput } = await import('../../core/credentials/store.js'); // the store's own checks, loaded when used
      const { hosts, inject } = checkCredentialInput({ name, secret, hosts: wanted.hosts, inject: wanted.inject });
      const description = opts.description ?? wanted.description;
      await client.call('credentials.add', { name, secret, hosts, inject, maxTtlMs, ...(description ? { description } : {}) });
      const info = (await client.call('credentials.list')).find((c) => c.name === name);
      out(`stored ${name} in the OS keychain: for ${(info?.hosts ?? hosts).join(', ')} (${describeInjection(info?.inject ?? inject)}), at most ${formatDuration(info?.maxTtlMs ?? maxTtlMs)} per task\n`);
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
        out(`no credentials: add one with \`${presetAddCommand('anthropic')}\` (or another --preset), or \`printf %s "$TOKEN" | airlock cred add <name> --host <host>\`\n`);
        return;
      }
      out(table(['NAME', 'HOSTS', 'INJECTION', 'MAX TTL', 'DESCRIPTION'], all.map((c) => [c.name, c.hosts.join(','), describeInjection(c.inject), formatDuration(c.maxTtlMs), c.description ?? ''])));
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
