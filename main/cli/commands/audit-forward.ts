/**
 * `airlock audit forward add|ls|status|rm|flush` (the engine's audit.forward.* channels) and
 * `airlock audit verify --from-export`, which checks a collected stream in this process: a local
 * file check, no engine needed.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { AirlockError } from '../../core/errors.js';
import { engine } from '../context.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { allCaughtUp, checkSecret, flushTimeout, forwarderFromFlags, forwarderTable, type ForwardAddFlags } from '../forward-args.js';
import { readSecret } from '../secret-input.js';
import { out, outJson, outJsonLines } from '../stdout.js';
import { inert } from '../terminal-text.js';

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

export function registerForwardCommands(audit: Command, setExit: (code: ExitCode) => void): void {
  const forward = audit.command('forward').description('stream the audit trail to a collector (OTLP, syslog over TLS, an HTTPS webhook)');
  forward
    .command('add')
    .description('add a forwarder; a secret only on standard input (--secret-stdin), never as an argument')
    .argument('<name>', 'a name such as siem (a-z, 0-9, -)')
    .option('--otlp <url>', 'OTLP logs over HTTPS: the full logs URL, e.g. https://collector.example:4318/v1/logs')
    .option('--encoding <encoding>', 'with --otlp: protobuf (default) | json')
    .option('--syslog <url>', 'RFC 5424 syslog over TLS: tls://HOST:PORT (port 6514 by default)')
    .option('--webhook <url>', 'an HTTPS webhook of JSON lines: https://HOST/PATH')
    .option('--ca <file>', "a PEM file of CAs trusted for this collector, besides the system's")
    .option('--secret-stdin', 'read a token (--otlp, --webhook) from standard input, into the keychain')
    .option('--auth-header <header>', 'the header the token goes in (default Authorization)')
    .option('--auth-scheme <scheme>', "the word before the token (default Bearer; '' for none)")
    .option('--kinds <kinds>', 'only these kinds or families, comma-separated: net.denied,cred.*')
    .option('--decisions <decisions>', 'only records with this decision: allow | deny')
    .option('--agents <agents>', 'only these agents, comma-separated')
    .option('--head-every <duration>', 'send the signed head this often (default 60s)')
    .action(async (name: string, flags: ForwardAddFlags) => {
      const input = forwarderFromFlags(name, flags);
      if (input.caFile !== undefined && !fs.existsSync(input.caFile)) throw new AirlockError('not_found', `--ca: ${input.caFile} does not exist`, 'name the PEM file of your collector\'s CA');
      const secret = flags.secretStdin ? checkSecret(await readSecret(`secret for ${name} (not shown): `)) : undefined;
      const added = await (await engine()).call('audit.forward.add', input, secret !== undefined ? { secret } : {});
      out(`added ${added.name}: ${added.kind} to ${inert(added.url)}${added.hasSecret ? ', its secret in the OS keychain' : ''} (${added.state})\n`);
    });
  forward
    .command('ls')
    .alias('status')
    .description('every forwarder with its state and lag, in records and time')
    .option('--json', 'one JSON object per forwarder')
    .action(async (opts: { json?: boolean }) => {
      const forwarders = await (await engine()).call('audit.forward.list');
      if (opts.json) outJsonLines(forwarders);
      else if (forwarders.length === 0) out('no forwarders: add one with `airlock audit forward add NAME --otlp https://HOST:4318/v1/logs`\n');
      else out(forwarderTable(forwarders));
    });
  forward
    .command('rm')
    .description('stop a forwarder and remove its config, cursor and keychain secret')
    .argument('<name>')
    .action(async (name: string) => {
      await (await engine()).call('audit.forward.remove', { name });
      out(`removed ${name}\n`);
    });
  forward
    .command('flush')
    .description('send now and wait until every forwarder is caught up: exit 0 when so, 1 when not')
    .option('--timeout <duration>', 'how long to wait (at most 10m)', '30s')
    .option('--json', 'one JSON object per forwarder')
    .action(async (opts: { timeout: string; json?: boolean }) => {
      const timeoutMs = flushTimeout(opts.timeout);
      const forwarders = await (await engine()).call('audit.forward.flush', { timeoutMs });
      if (opts.json) outJsonLines(forwarders);
      else if (forwarders.length > 0) out(forwarderTable(forwarders));
      setExit(allCaughtUp(forwarders) ? EXIT.ok : 1);
    });
}

export interface FromExportFlags {
  fromExport: string;
  publicKey?: string[];
  fingerprint?: string[];
  json?: boolean;
}

/** `audit verify --from-export FILE`: a collected stream checked here, no engine. Exit 0 continuous, 1 not. */
export async function verifyExport(flags: FromExportFlags, setExit: (code: ExitCode) => void): Promise<void> {
  const file = path.resolve(flags.fromExport);
  if (!fs.existsSync(file)) throw new AirlockError('not_found', `--from-export: ${flags.fromExport} does not exist`, "name the file your collector wrote (one JSON object per line)");
  const publicKeys = (flags.publicKey ?? []).map((keyFile) => readPem(keyFile));
  const badFingerprint = (flags.fingerprint ?? []).find((fp) => !FINGERPRINT.test(fp));
  if (badFingerprint !== undefined) throw new AirlockError('bad_argument', `--fingerprint: '${badFingerprint}' is not SHA256:<43 base64 characters>`, 'copy it from `airlock audit verify` ("head signing key: SHA256:…")');
  const { verifyForwardedStream, formatStreamReport } = await import('../../core/forward/verify-stream.js'); // loaded when used
  const report = await verifyForwardedStream(file, {
    ...(publicKeys.length ? { publicKeys } : {}),
    ...(flags.fingerprint?.length ? { fingerprints: flags.fingerprint } : {}),
  });
  if (flags.json) outJson(report);
  else for (const line of formatStreamReport(report)) out(`${inert(line)}\n`);
  setExit(report.ok ? EXIT.ok : 1);
}

function readPem(keyFile: string): string {
  let text: string;
  try {
    text = fs.readFileSync(path.resolve(keyFile), 'utf8');
  } catch {
    throw new AirlockError('not_found', `--public-key: cannot read ${keyFile}`, 'name a PEM public key file');
  }
  if (!text.includes('-----BEGIN PUBLIC KEY-----')) throw new AirlockError('bad_argument', `--public-key: ${keyFile} is not a PEM public key`, 'it starts with -----BEGIN PUBLIC KEY-----');
  return text;
}
