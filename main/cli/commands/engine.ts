import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { Command } from 'commander';
import { AirlockError } from '../../core/errors.js';
import { airlockHome } from '../../core/home.js';
import { formatDuration, parseDuration } from '../../core/policy/units.js';
import type { EngineClient } from '../../core/server/client.js';
import { connectEngine, stopEngine } from '../../core/server/connect.js';
import { engineEndpoint } from '../../core/server/endpoint.js';
import { isNoEngine } from '../../core/server/socket-client.js';
import type { EngineStatus } from '../../core/server/engine-contract.js';
import { err, out, outJson } from '../stdout.js';
import { EXIT, type ExitCode } from '../exit-codes.js';

/** The running engine, or undefined when none runs (never starts one). */
async function runningEngine(): Promise<EngineClient | undefined> {
  try {
    return await connectEngine({ start: false, client: 'cli' });
  } catch (error) {
    if (isNoEngine(error)) return undefined;
    throw error;
  }
}

function statusLines(status: EngineStatus): string {
  const uptime = formatDuration(Date.now() - Date.parse(status.startedAt));
  return [
    `running   pid ${status.pid}, up ${uptime}`,
    `build     ${status.version} (protocol ${status.protocol})`,
    `clients   ${status.clients}`,
    `tasks     ${status.tasks}`,
    `pool      ${status.pool.size === 0 ? 'none (AIRLOCK_POOL_SIZE=0, or on battery)' : `${status.pool.ready} of ${status.pool.size} prepared sandbox${status.pool.size === 1 ? '' : 'es'} ready${status.pool.filling ? ', preparing one' : ''}`}`,
    `idle exit ${status.idleMs > 0 ? `after ${formatDuration(status.idleMs)} with no client and no task` : 'never'}`,
    `socket    ${status.socket}`,
    `log       ${status.log}`,
  ].join('\n');
}

export function registerEngineCommands(program: Command, setExit: (code: ExitCode) => void): void {
  const engine = program.command('engine').description('the user\'s Airlock engine: the background process the CLI and the app are clients of');

  engine
    .command('serve')
    .description('run the engine in the foreground (what `engine start` runs in the background)')
    .option('--idle <duration>', 'exit after this long with no client and no task (0 = never; default AIRLOCK_ENGINE_IDLE or 10m)')
    .action(async (opts: { idle?: string }) => {
      let idleMs: number | undefined;
      if (opts.idle !== undefined) {
        idleMs = opts.idle.trim() === '0' ? 0 : parseDuration(opts.idle);
        if (idleMs === undefined) throw new AirlockError('bad_argument', `--idle ${opts.idle}: not a duration`, 'use e.g. 10m, 30s, or 0 for never');
      }
      // The core is loaded here alone: the other engine commands are light clients.
      const { runEngineProcess } = await import('../../core/server/engine-entry.js');
      const code = await runEngineProcess({ env: process.env, ...(idleMs === undefined ? {} : { idleMs }) });
      // Whatever handles remain (a connection pool, a keychain) must not keep a stopped engine alive.
      process.exit(code);
    });

  engine
    .command('start')
    .description('start the engine in the background (commands do it when needed)')
    .action(async () => {
      const client = await connectEngine({ client: 'cli' });
      try {
        const status = await client.call('engine.status');
        out(`${statusLines(status)}\n`);
      } finally {
        await client.close();
      }
    });

  engine
    .command('status')
    .description('whether the engine runs: its pid, build, uptime, clients, tasks, socket and log')
    .option('--json', 'print the status as JSON')
    .action(async (opts: { json?: boolean }) => {
      const client = await runningEngine();
      if (!client) {
        const endpoint = engineEndpoint(airlockHome());
        if (opts.json) outJson({ running: false, socket: endpoint.socket, log: endpoint.log });
        else out(`not running (socket ${endpoint.socket})\n`);
        setExit(3);
        return;
      }
      try {
        const status = await client.call('engine.status');
        if (opts.json) outJson({ running: true, ...status });
        else out(`${statusLines(status)}\n`);
      } finally {
        await client.close();
      }
    });

  engine
    .command('stop')
    .description('stop the engine: its running tasks are stopped first (sandboxes destroyed)')
    .action(async () => {
      const client = await runningEngine();
      if (!client) {
        out('no Airlock engine is running\n');
        return;
      }
      const [status, tasks] = await Promise.all([client.call('engine.status'), client.call('tasks.list')]);
      const running = tasks.filter((task) => !task.endedAt);
      if (!(await stopEngine(client))) throw new AirlockError('engine_unavailable', `the Airlock engine (pid ${status.pid}) has not stopped within a minute`, `see \`airlock engine logs\`; \`kill ${status.pid}\``);
      for (const task of running) out(`stopped ${task.id} (${task.agent})\n`);
      out(`stopped the Airlock engine (pid ${status.pid})\n`);
    });

  engine
    .command('logs')
    .description('print the engine\'s log')
    .option('-f, --follow', 'keep printing what is added (Ctrl-C to end)')
    .action(async (opts: { follow?: boolean }) => {
      const file = engineEndpoint(airlockHome()).log;
      if (!fs.existsSync(file)) {
        err(`airlock: no engine log yet (${file})\n`);
        if (!opts.follow) {
          setExit(EXIT.ok);
          return;
        }
      }
      await printLog(file, Boolean(opts.follow));
    });
}

/**
 * Prints the log; with `follow`, keeps printing what is added (a rotated log starts over). The
 * log quotes what clients and the core's errors said (text an agent may have chosen): it reaches
 * the terminal inert, like every other output, decoded whole characters at a time.
 */
async function printLog(file: string, follow: boolean): Promise<void> {
  let offset = 0;
  const decoder = new StringDecoder('utf8');
  const printNew = () => {
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      return;
    }
    if (size < offset) offset = 0; // rotated: emptied in place
    if (size === offset) return;
    const fd = fs.openSync(file, 'r');
    try {
      const chunk = Buffer.alloc(Math.min(size - offset, 1024 * 1024));
      const read = fs.readSync(fd, chunk, 0, chunk.length, offset);
      offset += read;
      out(decoder.write(chunk.subarray(0, read)));
    } finally {
      fs.closeSync(fd);
    }
  };
  do printNew(); while (fs.existsSync(file) && offset < fs.statSync(file).size);
  if (!follow) return;
  await new Promise<never>(() => {
    setInterval(printNew, 250);
  });
}
