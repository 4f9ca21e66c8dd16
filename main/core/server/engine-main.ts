/**
 * The engine process (`airlock engine serve`): one per user, serving the engine's contract on
 * its socket until idle, asked to stop, or told to (SIGTERM, SIGINT). Its files are the user's
 * alone (umask 077); an error nothing handled stops every task and flushes the trail first.
 */
import { installLastResort } from '../tasks/last-resort.js';
import { currentBuild } from './build.js';
import { engineEndpoint } from './endpoint.js';
import { engineLog } from './engine-log.js';
import { startEngineServer } from './engine-server.js';
import { airlockHome } from '../home.js';

/** Runs the engine in this process; resolves with the exit code once it has stopped. */
export async function runEngineProcess(options: { env: NodeJS.ProcessEnv; idleMs?: number }): Promise<number> {
  process.umask(0o077);
  const endpoint = engineEndpoint(airlockHome(options.env), options.env);
  const log = engineLog(endpoint.log);
  const engine = await startEngineServer({ env: options.env, build: currentBuild(), log, ...(options.idleMs === undefined ? {} : { idleMs: options.idleMs }) });
  if (!engine) {
    log(`another Airlock engine already serves ${endpoint.socket}; this one leaves`);
    return 0;
  }
  installLastResort({
    process,
    live: engine.airlock.live,
    flush: () => engine.airlock.close(),
    exit: (code) => process.exit(code),
    report: (text) => log(text.trimEnd()),
  });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => void engine.stop(`${signal} received`));
  }
  await engine.stopped;
  return 0;
}
