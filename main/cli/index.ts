import { Command, CommanderError } from 'commander';
import { AirlockError, isAirlockError } from '../core/errors.js';
import { registerAgentCommands } from './commands/agents.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerCredentialCommands } from './commands/credentials.js';
import { registerEngineCommands } from './commands/engine.js';
import { registerPricesCommand } from './commands/prices.js';
import { registerRun } from './commands/run.js';
import { registerSystemCommands } from './commands/system.js';
import { registerTaskCommands } from './commands/tasks.js';
import { registerChangeCommands } from './commands/changes.js';
import { closeEngine } from './context.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { err } from './stdout.js';

export async function main(argv: string[]): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT.ok;
  const setExit = (code: ExitCode) => {
    exitCode = code;
  };
  const program = new Command('airlock')
    .description('Run AI agents in disposable, hardened local sandboxes and watch everything they do.')
    .version(process.env.AIRLOCK_VERSION ?? '0.1.0')
    .showHelpAfterError('(run `airlock --help` for usage)')
    // Program options (--version) only before the command: `image build --kit X --version Y` is the build's.
    .enablePositionalOptions()
    .option('--context <name>', 'the Docker context to use (as `docker --context`: over DOCKER_HOST, DOCKER_CONTEXT and `docker context use`)')
    .hook('preAction', (root) => useContextOption(root.opts<{ context?: string }>().context, process.env))
    .exitOverride();
  registerRun(program, setExit);
  registerTaskCommands(program, setExit);
  registerChangeCommands(program);
  registerAgentCommands(program);
  registerAuditCommands(program, setExit);
  registerCredentialCommands(program);
  registerPricesCommand(program);
  registerSystemCommands(program, setExit);
  registerEngineCommands(program, setExit);

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    exitCode = reportError(error);
  }
  try {
    await closeEngine();
  } catch (error) {
    // Events that could not be made durable: say so, and do not exit 0.
    err(`airlock: ${(error as Error).message}\n`);
    if (exitCode === EXIT.ok) exitCode = EXIT.couldNotRun;
  }
  return exitCode;
}

/**
 * --context reaches the engine process as DOCKER_CONTEXT, with the docker CLI's precedence: a named
 * context wins over DOCKER_HOST (so it is dropped); `default` is DOCKER_HOST or the usual socket.
 */
export function useContextOption(context: string | undefined, env: NodeJS.ProcessEnv): void {
  if (context === undefined) return;
  if (!context.trim()) throw new AirlockError('bad_argument', '--context needs a context name', 'list them with `docker context ls`');
  env.DOCKER_CONTEXT = context.trim();
  if (env.DOCKER_CONTEXT !== 'default') delete env.DOCKER_HOST;
}

/** One line (plus a hint) for errors a user can act on; a stack only for real bugs. Messages may quote agent data: err() makes them inert. */
function reportError(error: unknown): ExitCode {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
    return EXIT.couldNotRun; // commander already printed what was wrong
  }
  if (isAirlockError(error)) {
    err(`airlock: ${error.message}\n`);
    if (error.hint) err(`  fix: ${error.hint}\n`);
    return EXIT.couldNotRun;
  }
  err(`airlock: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
  return EXIT.couldNotRun;
}
