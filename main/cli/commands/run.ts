import path from 'node:path';
import type { Command } from 'commander';
import type { AirlockEvent } from '../../core/audit/events.js';
import { AirlockError, type AirlockErrorCode } from '../../core/errors.js';
import type { EngineClient } from '../../core/server/client.js';
import type { EngineArgs } from '../../core/server/engine-contract.js';
import type { AgentInspection, TaskEnd } from '../../core/service/types.js';
import type { learnedAllowlist } from '../../core/tasks/learn.js';
import { listProject, projectSizeLine } from '../../core/tasks/project-files.js';
import { applyLearnedAllowlist, ask, TerminalApprovals } from '../ask.js';
import { engine } from '../context.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { EventRenderer, fromWire } from '../render.js';
import { parseRunFlags, type RunFlags } from '../run-args.js';
import { err, out, outJson } from '../stdout.js';
import { inert, inertDeep } from '../terminal-text.js';
import { approveForRun, describeAgent, notApproved } from './agents.js';
import { checkInteractive, runSession, terminalSize, type SessionEnd } from '../interactive.js';
import { followImageBuild } from './system.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerRun(program: Command, setExit: (code: ExitCode) => void): void {
  program
    .command('run')
    .description('run an agent in a disposable sandbox and stream its action log')
    .argument('<agent>', 'a manifest .yaml file, or the name of an approved or built-in agent (demo, support, or a kit: claude-code, codex, gemini-cli)')
    .argument('[args...]', 'after --: arguments for the agent\'s command (e.g. -- -p "fix the failing test")')
    .option('--endpoint <url>', 'kits only: the provider endpoint to use instead of the default (a company gateway): the network becomes exactly its host and port, and the key is lent for that host')
    .option('--net <mode>', 'network for this run: none | open | allow:<host>[,<host>…] (instead of the manifest\'s)')
    .option('--registry <name>', 'let the agent install packages from a registry: npm, pypi, or a company\'s npm=<url> / pypi=<url> (its hosts join the network; repeatable)', collect)
    .option('--cred <name[:ttl]>', 'lend a credential to this task (repeatable)', collect)
    .option('--input <path[:container-path]>', 'copy a file or folder in, read-only (default: <workdir>/in/<name>; repeatable)', collect)
    .option('--project <dir>', 'give the agent a working copy of this folder (its manifest says project:); for a git repository: tracked and untracked-not-ignored files and a fresh .git (default for kits: the current folder)')
    .option('--no-project', 'kits: run without the current folder as the project')
    .option('--output <dir>', 'where collected outputs go (default: the task folder in AIRLOCK_HOME)')
    .option('--timeout <duration>', 'stop the task after this long, e.g. 30s, 10m, 1h (default 10m)')
    .option('--cpus <n>', 'CPU limit, e.g. 0.5')
    .option('--memory <size>', 'memory limit, e.g. 256m, 1g (swap is not added)')
    .option('--env <K=V>', 'set an environment variable (repeatable)', collect)
    .option('--budget <limit>', 'model spend limit for this run and every task it starts: 2usd, 100ktokens or 50requests (repeatable; replaces the manifest\'s budget: of that kind)', collect)
    .option('--json', 'print one JSON event per line instead of the readable log')
    .option('--learn', 'run with the network open (every public host allowed and logged), then print the smallest allowlist that would have served the run')
    .option('--detach', 'print the task id and exit; the task goes on in the engine (see `airlock log -f`, `airlock stop`)')
    .option('-i, --interactive', 'with -t: an interactive session (keys go to the agent)')
    .option('-t, --tty', 'with -i: give the agent a terminal; Ctrl-] d detaches, Ctrl-] q stops the task')
    .action(async (agentRef: string, args: string[], opts: RunCliOptions) => {
      setExit(await runCommand(agentRef, args, opts));
    });
}

interface RunCliOptions extends RunFlags {
  json?: boolean; detach?: boolean; interactive?: boolean; tty?: boolean; endpoint?: string; registry?: string[];
  /** A folder (`--project`), false (`--no-project`) or not given (a kit then takes the current folder). */
  project?: string | false;
}

/** The run's project folder, its size shown (and a folder over the limit refused) before anything is copied. */
async function projectOf(opts: RunCliOptions, agent: AgentInspection): Promise<{ hostPath: string } | undefined> {
  if (opts.project === false) return undefined;
  if (opts.project === undefined && !agent.kit) return undefined;
  const hostPath = path.resolve(opts.project ?? '.');
  const listing = await listProject(hostPath);
  if (!opts.json) err(`${inert(projectSizeLine(listing))}\n`);
  return { hostPath };
}

/** `./agent.yaml` or `demo`: a manifest path is made absolute here, a name is the engine's to look up. */
function agentRefOf(ref: string): string {
  return /\.ya?ml$/i.test(ref) || ref.includes('/') || ref.includes(path.sep) ? path.resolve(ref) : ref;
}

async function runCommand(agentRef: string, args: string[], opts: RunCliOptions): Promise<ExitCode> {
  if (opts.detach && opts.learn) throw new AirlockError('bad_argument', '--learn needs the run\'s events, so it cannot --detach', 'run it without --detach');
  checkInteractive(opts);
  const interactive = opts.interactive === true;
  const overrides = parseRunFlags(opts, process.cwd()); // bad flags are refused before anything else
  const client = await engine();
  if (opts.detach && client.mode === 'inprocess') {
    throw new AirlockError('bad_argument', '--detach needs the Airlock engine: with AIRLOCK_ENGINE=inprocess the task would end with this command', 'unset AIRLOCK_ENGINE, or run it without --detach');
  }
  const agent = await client.call('agents.inspect', agentRefOf(agentRef));
  const { network, creds, ...rest } = overrides;
  const project = await projectOf(opts, agent);
  const request = {
    agent: agent.file, attached: !opts.detach, ...rest, ...(project ? { project } : {}),
    ...(network ? { network } : {}), ...(creds ? { credentials: creds } : {}),
    ...(interactive ? { terminal: terminalSize() } : {}),
    ...(args.length > 0 ? { args } : {}), ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
    ...(opts.registry && opts.registry.length > 0 ? { registries: opts.registry } : {}),
  };
  await explainDemoCredential(client, agent);
  await client.call('tasks.check', request); // what is wrong with the manifest or the flags, before any approval
  if (agent.kit) await buildKitIfMissing(client, agent.kit.name, opts);
  await requireApproval(client, agent);
  if (opts.detach) {
    const { task } = await client.call('tasks.start', request);
    if (opts.json) outJson({ task });
    else out(`${task}\n`);
    return EXIT.ok;
  }
  if (interactive) return interactiveRun(client, request);

  const run = new RunView(client, opts);
  const controller = interruptible(client, () => run.root, opts);
  try {
    const { task } = await client.call('tasks.start', { ...request, ...(run.answersAsks ? { answersAsks: true } : {}) });
    run.started(task);
    controller.started();
    const end = await client.call('tasks.wait', task);
    if (opts.learn) {
      const { learnedAllowlist } = await import('../../core/tasks/learn.js'); // loaded when used
      await reportLearned(agent, learnedAllowlist(run.seen, task));
    }
    if (end.state === 'failed' && end.error) throw new AirlockError(end.error.code as AirlockErrorCode, end.error.message, end.error.hint);
    if (!opts.json) printSummary(end);
    return exitCodeFor(end);
  } finally {
    run.stop();
    controller.release();
  }
}

/** `run -it`: the session on this terminal, then one line on how it ended (its log is `airlock log <task>`). */
async function interactiveRun(client: EngineClient, request: EngineArgs<'tasks.start'>[0]): Promise<ExitCode> {
  const { task } = await client.call('tasks.start', request);
  let session: SessionEnd;
  try {
    session = await runSession(client, task);
  } catch (error) {
    // Over before the session could be watched: how it ended is what tasks.wait says.
    if (!(error instanceof AirlockError && error.code === 'not_found')) throw error;
    session = { how: 'ended' };
  }
  if (session.how === 'lost') throw new AirlockError('engine_unavailable', `the Airlock engine went away: ${session.reason}`, 'the task\'s sandbox ended with it; see `airlock log`');
  if (session.how === 'detached') {
    err(`\ndetached: ${task} runs on (airlock log -f ${task}; airlock stop ${task})\n`);
    return EXIT.ok;
  }
  const end = await client.call('tasks.wait', task);
  if (end.state === 'failed' && end.error) throw new AirlockError(end.error.code as AirlockErrorCode, end.error.message, end.error.hint);
  err(`\n${task} ${end.state}${end.exitCode !== undefined ? ` (exit code ${end.exitCode})` : ''}; its log: airlock log ${task}\n`);
  return exitCodeFor(end);
}

/**
 * What one run shows: its own events (its task, the tasks it started, Airlock's records of no
 * task except the reaper's), in order, from the engine's event batches; those that come before
 * the engine has said the task's id are kept until it has. Its "ask" requests are answered here.
 */
class RunView {
  readonly seen: AirlockEvent[] = [];
  readonly #renderer: EventRenderer;
  readonly #json: boolean;
  readonly #learn: boolean;
  readonly #tree = new Set<string>();
  #root: string | undefined;
  get root(): string | undefined {
    return this.#root;
  }

  #early: AirlockEvent[] = [];
  readonly #approvals: TerminalApprovals;
  readonly #unsubscribe: () => void;

  constructor(client: EngineClient, opts: { json?: boolean; learn?: boolean }) {
    this.#json = opts.json === true;
    this.#learn = opts.learn === true;
    this.#renderer = new EventRenderer({ color: !opts.json && process.stdout.isTTY === true && !process.env.NO_COLOR });
    this.#approvals = new TerminalApprovals(client, (task) => this.#tree.has(task));
    this.#unsubscribe = client.subscribe('events', (batch) => {
      const events = batch.events.map(fromWire);
      if (this.#root === undefined) this.#early.push(...events);
      else this.#take(events);
    });
  }

  /** At a terminal this run answers its own asks; the engine is told so with the start. */
  get answersAsks(): boolean {
    return this.#approvals.answers;
  }

  started(task: string): void {
    this.#root = task;
    this.#tree.add(task);
    const early = this.#early;
    this.#early = [];
    this.#take(early);
  }

  stop(): void {
    this.#unsubscribe();
    this.#approvals.stop();
  }

  #take(events: AirlockEvent[]): void {
    const root = this.#root!;
    let grew = false;
    for (const event of events) {
      if (event.kind === 'audit.tamper') {
        err(`airlock: the audit trail was changed by someone without its key: ${inert(texts(event.data.findings).join('; '))}; it is set aside and recorded (see \`airlock audit verify\`)\n`);
        continue;
      }
      if (!ofThisRun(event, root)) continue;
      if (event.task !== '-' && !this.#tree.has(event.task)) {
        this.#tree.add(event.task);
        grew = true;
      }
      this.#approvals.decided(event);
      if (this.#learn) this.seen.push(event);
      if (this.#json) outJson(event);
      else {
        const text = this.#renderer.render(event);
        if (text !== undefined) out(`${text}\n`);
      }
    }
    if (grew) this.#approvals.check(); // a child's ask may have come before its first event
  }
}

function texts(value: unknown): string[] {
  return [value].flat().filter((item) => item !== undefined).map(String);
}

/**
 * Ctrl-C (or SIGTERM) once: the engine stops the task and the run waits for its teardown. Twice:
 * exit at once (the engine still stops an attached task when this client goes).
 */
function interruptible(client: EngineClient, taskOf: () => string | undefined, opts: { json?: boolean }): { release: () => void; started: () => void } {
  let interrupts = 0;
  const stop = () => {
    const task = taskOf();
    if (task !== undefined) void client.call('tasks.stop', task).catch(() => undefined); // over already
  };
  const onInterrupt = () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(EXIT.interrupted);
    if (!opts.json) process.stderr.write('\nstopping: tearing the sandbox down (Ctrl-C again to quit at once)\n');
    stop();
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  return {
    /** An interrupt that came while the task was being started stops it now. */
    started: () => {
      if (interrupts > 0) stop();
    },
    release: () => {
      process.off('SIGINT', onInterrupt);
      process.off('SIGTERM', onInterrupt);
    },
  };
}

/** Whether an event is part of the run of `task`: its own, a descendant's, or one of no task but not the reaper's. */
function ofThisRun(event: AirlockEvent, task: string): boolean {
  if (event.task === task || event.chain?.includes(task)) return true;
  return event.task === '-' && event.kind !== 'engine.forged';
}

export function exitCodeFor(end: Pick<TaskEnd, 'state' | 'exitCode'>): ExitCode {
  if (end.state === 'timeout') return EXIT.timeout;
  if (end.state === 'cancelled') return EXIT.interrupted;
  if (end.state === 'stopped') return EXIT.couldNotRun; // stopped by policy
  return (end.exitCode ?? EXIT.couldNotRun) as ExitCode;
}

function printSummary(end: TaskEnd): void {
  const files = `${end.artifacts} file${end.artifacts === 1 ? '' : 's'}`;
  if (end.artifacts > 0) out(`\noutputs (${files}): ${end.artifactsDir}\n`);
}

/** A kit's image is built on its first run, with the progress on stderr (JSON lines with --json). */
async function buildKitIfMissing(client: EngineClient, kit: string, opts: { json?: boolean }): Promise<void> {
  const report = await client.call('doctor.run');
  const image = report.images.find((i) => i.kit === kit);
  if (!image || (image.present && !image.outdated)) return;
  if (!opts.json) err(image.present ? `${image.ref} was made from an older recipe of the kit: building it again now (once)\n` : `${image.ref} is not built yet: building it now (once)\n`);
  await followImageBuild(client, image.ref, () => client.call('images.build', { kit }), {
    json: opts.json === true, retry: `airlock image build --kit ${kit}`, offline: false, announce: err,
  });
}

/** Only approved agents run without a prompt: on a terminal, show what it may do and ask; else refuse. */
async function requireApproval(client: EngineClient, agent: AgentInspection): Promise<void> {
  const state = agent.approval;
  if (state === 'approved' || state === 'built-in') return;
  if (state === undefined) throw new AirlockError('bad_manifest', agent.error?.message ?? `cannot load ${agent.file}`, agent.error?.hint);
  if (!process.stdin.isTTY || !process.stderr.isTTY) throw notApproved(agent, state);
  const intro = state === 'changed' ? 'This manifest has changed since it was approved.' : 'This agent has not been approved yet.';
  const answer = await ask(`${intro}\n${describeAgent(agent)}\nApprove it and run? [y/N] `);
  if (answer.trim().toLowerCase() !== 'y') throw notApproved(agent, state);
  await approveForRun(client, agent);
}

/** The built-in demo borrows a credential that `npm run demo` stores (with the pretend vendor API it needs). */
async function explainDemoCredential(client: EngineClient, agent: AgentInspection): Promise<void> {
  if (agent.name !== 'demo' || agent.source !== 'built-in' || !agent.credentials?.some((c) => c.name === 'demo-vendor-api')) return;
  if ((await client.call('credentials.list')).some((c) => c.name === 'demo-vendor-api')) return;
  throw new AirlockError('not_found', 'the demo borrows the credential demo-vendor-api, which is not stored yet',
    'run `npm run demo`: it starts the pretend vendor API, stores the demo credential and runs the demo');
}

/** --learn: the smallest allowlist that served this run, as a manifest diff; applied after a yes on a terminal. */
async function reportLearned(agent: AgentInspection, learned: ReturnType<typeof learnedAllowlist>): Promise<void> {
  const { learnedDiff, learnedReview } = await import('../../core/tasks/learn.js');
  const net = agent.network ?? { mode: 'none', allow: [], local: [], onUnknownHost: 'deny' };
  // Only this task's own hosts (a child's belong in the child's manifest), each on its line; agent-named hosts made inert.
  const shown = inertDeep({ learned, net });
  err(`\n${learnedReview(shown.learned)}\n${learnedDiff({ mode: shown.net.mode, allow: shown.net.allow, onUnknownHost: shown.net.onUnknownHost }, shown.learned.allow)}\n`);
  if (!process.stdin.isTTY || !process.stderr.isTTY) return;
  if ((await ask(`Apply it to ${inert(agent.file)}? [y/N] `)).trim().toLowerCase() === 'y') await applyLearnedAllowlist(agent.file, learned.allow);
}
