import type { Command } from 'commander';
import { KeychainSession, type KeychainSessionStatus } from '../../core/credentials/keychain-session.js';
import { AirlockError } from '../../core/errors.js';
import { airlockHome } from '../../core/home.js';
import { connectEngine, stopEngine } from '../../core/server/connect.js';
import { isNoEngine } from '../../core/server/socket-client.js';
import { readSecret } from '../secret-input.js';
import { err, out } from '../stdout.js';
import { jsonText } from '../terminal-text.js';
import { EXIT, type ExitCode } from '../exit-codes.js';

/**
 * `airlock keychain start|status|stop`: Airlock's own Secret Service for Linux without a desktop
 * session (keychain-session.ts). The passphrase is read like a credential's secret: piped, or
 * typed without echo; never an argument.
 */
export function registerKeychainCommands(program: Command, setExit: (code: ExitCode) => void): void {
  const keychain = program.command('keychain').description('Linux without a desktop session: Airlock\'s own keyring, unlocked once per boot with a passphrase (like ssh-agent)');

  keychain
    .command('start')
    .description('start a private Secret Service for this user, unlocked with a passphrase read from standard input or a hidden prompt (the first start sets it)')
    .option('--json', 'print the status as JSON')
    .action(async (opts: { json?: boolean }) => {
      refuseOutsideLinux();
      if (process.env.DBUS_SESSION_BUS_ADDRESS) {
        throw new AirlockError('bad_argument', 'this session has a D-Bus session bus (DBUS_SESSION_BUS_ADDRESS): its Secret Service is the keychain', 'check it with `airlock doctor`; for Airlock\'s own keyring run this without DBUS_SESSION_BUS_ADDRESS');
      }
      const session = new KeychainSession(airlockHome());
      const before = session.status();
      const status = before.running && before.unlocked ? { ...before, alreadyRunning: true }
        : session.start(await readSecret('passphrase for Airlock\'s keyring (not shown): '));
      if (!status.alreadyRunning) await restartIdleEngine();
      if (opts.json) out(`${jsonText(status, 2)}\n`);
      else out(`${status.alreadyRunning ? 'already running' : 'started'}: Airlock's keyring is unlocked until \`airlock keychain stop\` or a reboot\n${statusLines(status)}\n`);
    });

  keychain
    .command('status')
    .description('whether Airlock\'s keyring runs and is unlocked (exit 1 when not)')
    .option('--json', 'print the status as JSON')
    .action((opts: { json?: boolean }) => {
      refuseOutsideLinux();
      const status = new KeychainSession(airlockHome()).status();
      if (opts.json) out(`${jsonText(status, 2)}\n`);
      else out(`${status.running ? status.unlocked ? 'running, unlocked' : 'running, LOCKED' : 'not running (start it: airlock keychain start)'}\n${statusLines(status)}\n`);
      setExit(status.running && status.unlocked ? EXIT.ok : 1);
    });

  keychain
    .command('stop')
    .description('stop Airlock\'s keyring (its file stays, encrypted; `start` unlocks it again)')
    .action(async () => {
      refuseOutsideLinux();
      const stopped = new KeychainSession(airlockHome()).stop();
      if (stopped) await restartIdleEngine();
      out(stopped ? 'stopped Airlock\'s keyring; its secrets stay in the encrypted file until the next `airlock keychain start`\n' : 'Airlock\'s keyring was not running\n');
    });
}

function statusLines(status: KeychainSessionStatus): string {
  return [
    `keyring   ${status.keyringDir} (encrypted with the passphrase)`,
    ...(status.address ? [`bus       ${status.address.replace(/,guid=.*$/, '')}`] : []),
    ...(status.pids ? [`pids      dbus-daemon ${status.pids.bus}, gnome-keyring-daemon ${status.pids.keyring}`] : []),
  ].join('\n');
}

function refuseOutsideLinux(): void {
  if (process.platform !== 'linux') throw new AirlockError('bad_argument', `\`airlock keychain\` is for Linux; on ${process.platform} Airlock uses the OS keychain`, 'check it with `airlock doctor`');
}

/**
 * An engine that runs chose its bus when it first used the keychain (libdbus keeps it): an idle one
 * is stopped so the next command starts one that uses the new keyring; a busy one is left alone.
 */
async function restartIdleEngine(): Promise<void> {
  let client;
  try {
    client = await connectEngine({ start: false, client: 'cli' });
  } catch (error) {
    if (isNoEngine(error)) return;
    throw error;
  }
  const status = await client.call('engine.status');
  if (status.tasks > 0) {
    err(`airlock: the running engine (pid ${status.pid}) runs ${status.tasks} task(s) and keeps the keychain it had; once they end, run \`airlock engine stop\`\n`);
    await client.close();
    return;
  }
  await stopEngine(client);
}
