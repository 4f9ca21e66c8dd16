import fs from 'node:fs';
import { engineEndpoint } from '../../main/core/server/endpoint.js';
import { openSocketClient } from '../../main/core/server/socket-client.js';
import { runCli, waitFor } from './env.js';

/** The run's id (test/global-setup.ts): every engine the tests start carries it in its environment. */
export const TEST_RUN_VARIABLE = 'AIRLOCK_TEST_RUN';

/** Engine processes (`… engine serve`) whose environment says `variable=value`, from /proc. */
export function engineProcesses(filter: { variable: string; value: string }): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const serve = argv.indexOf('serve');
      if (serve < 1 || argv[serve - 1] !== 'engine') continue;
      const environ = fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (environ.includes(`${filter.variable}=${filter.value}`)) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** The engines serving AIRLOCK_HOME `home` (normally zero or one). */
export function enginesOf(home: string): number[] {
  return engineProcesses({ variable: 'AIRLOCK_HOME', value: home });
}

/** Alive and not a zombie (a detached engine's parent is gone; whoever adopts it may reap it late). */
export function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** A test client of the engine of `home` (any build: the engine serves every build of its protocol). */
export async function testClient(home: string) {
  const opened = await openSocketClient(engineEndpoint(home), { build: 'test', name: 'test' });
  if (!opened.client) throw new Error('the engine speaks another protocol');
  return opened.client;
}

/** Stops the engine of `home` if one runs, and waits until its process is gone. */
export async function stopEngine(home: string): Promise<void> {
  const pids = enginesOf(home);
  if (pids.length === 0) return;
  await runCli(['engine', 'stop'], { env: { AIRLOCK_HOME: home } });
  for (const pid of enginesOf(home)) if (isAlive(pid)) process.kill(pid, 'SIGTERM');
  await waitFor(async () => (pids.every((pid) => !isAlive(pid)) ? true : undefined), 'the engine to exit', 20_000);
}
