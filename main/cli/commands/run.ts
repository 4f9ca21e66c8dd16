import type { Command } from 'commander';
import { loadManifestFile } from '../../core/policy/manifest.js';
import { resolveTaskSpec, type RunOverrides } from '../../core/tasks/spec.js';
import { TaskRunner, type TaskOutcome } from '../../core/tasks/runner.js';
import { newTaskId } from '../../core/tasks/ids.js';
import { systemClock } from '../../core/clock.js';
import { AirlockError } from '../../core/errors.js';
import { CredentialStore } from '../../core/credentials/store.js';
import { resolveManifestPath } from '../agents.js';
import { AgentRegistry } from '../../core/policy/registry.js';
import { DelegationTree } from '../../core/tasks/delegation.js';
import type { LoadedManifest } from '../../core/policy/manifest.js';
import { approvalRecorder, describeAgent, notApproved } from './agents.js';
import { allowHostAlways, approveAgent } from '../../core/policy/approval.js';
import { currentUserName } from '../../core/policy/registry.js';
import { inert, inertDeep, terminalSafe } from '../terminal-text.js';
import readline from 'node:readline/promises';
import { answerApprovalsAtTerminal, applyLearnedAllowlist } from '../ask.js';
import { learnedAllowlist, learnedDiff, learnedReview, type Learned } from '../../core/tasks/learn.js';
import type { AirlockEvent } from '../../core/audit/events.js';
import { createContext } from '../context.js';
import { EventRenderer } from '../render.js';
import { err, out, outJson } from '../stdout.js';
import { EXIT, type ExitCode } from '../exit-codes.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerRun(program: Command, setExit: (code: ExitCode) => void): void {
  program
    .command('run')
    .description('run an agent in a disposable sandbox and stream its action log')
    .argument('<agent>', 'a manifest .yaml file, or the name of an approved or built-in agent (demo, support)')
    .option('--net <mode>', 'network for this run: none | open | allow:<host>[,<host>…] (instead of the manifest\'s)')
    .option('--cred <name[:ttl]>', 'lend a credential to this task (repeatable)', collect)
    .option('--input <path[:container-path]>', 'copy a file or folder in, read-only (default: <workdir>/in/<name>; repeatable)', collect)
    .option('--output <dir>', 'where collected outputs go (default: the task folder in AIRLOCK_HOME)')
    .option('--timeout <duration>', 'stop the task after this long, e.g. 30s, 10m, 1h (default 10m)')
    .option('--cpus <n>', 'CPU limit, e.g. 0.5')
    .option('--memory <size>', 'memory limit, e.g. 256m, 1g (swap is not added)')
    .option('--env <K=V>', 'set an environment variable (repeatable)', collect)
    .option('--json', 'print one JSON event per line instead of the readable log')
    .option('--learn', 'run with the network open (every public host allowed and logged), then print the smallest allowlist that would have served the run')
    .action(async (agentRef: string, opts: RunCliOptions) => {
      setExit(await runCommand(agentRef, opts));
    });
}

interface RunCliOptions {
  net?: string; cred?: string[]; input?: string[]; output?: string; timeout?: string;
  cpus?: string; memory?: string; env?: string[]; json?: boolean; learn?: boolean;
}

async function runCommand(agentRef: string, opts: RunCliOptions): Promise<ExitCode> {
  const ctx = createContext();
  const registry = new AgentRegistry(ctx.home.root, ctx.assetsDir);
  const loaded = loadManifestFile(resolveManifestPath(agentRef, registry));
  const overrides: RunOverrides = {
    ...(opts.net !== undefined && { net: opts.net }), ...(opts.cred && { creds: opts.cred }), ...(opts.input && { inputs: opts.input }),
    ...(opts.learn && { net: 'open' }),
    ...(opts.output !== undefined && { outputDir: opts.output }), ...(opts.timeout !== undefined && { timeout: opts.timeout }),
    ...(opts.cpus !== undefined && { cpus: opts.cpus }), ...(opts.memory !== undefined && { memory: opts.memory }), ...(opts.env && { env: opts.env }),
  };
  const spec = resolveTaskSpec(loaded, overrides);
  ctx.audit(); // no keychain, no audit trail: refuse before anything is created
  await requireApproval(ctx, registry, loaded);
  explainDemoCredential(ctx, spec);

  const renderer = new EventRenderer({ color: !opts.json && process.stdout.isTTY === true && !process.env.NO_COLOR });
  const task = newTaskId();
  ctx.bus.subscribe((event) => {
    // Clean up after crashed runs once this task is under way, so it does not delay the start.
    if (event.kind === 'task.started' && event.task === task) void ctx.reap();
    // This run's own story: its task, the tasks it started, and Airlock's records for it. Leftovers
    // reaped meanwhile (another task's task.aborted, engine.forged) are in the trail and `airlock gc`.
    if (!ofThisRun(event, task)) return;
    if (opts.json) outJson(event);
    else {
      const text = renderer.render(event);
      if (text !== undefined) out(`${text}\n`);
    }
  });

  const controller = new AbortController();
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(EXIT.interrupted); // a leftover is reaped at the next start
    if (!opts.json) process.stderr.write('\nstopping: tearing the sandbox down (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  const networked = spec.network.mode !== 'none';
  // "Always" is the same use case as in the app (core policy/approval.ts); never for a built-in agent.
  const always = registry.stateOf(loaded) === 'built-in' ? undefined
    : { file: loaded.file, allow: (asked: { host: string; port: number }) => allowHostAlways(approvalRecorder(ctx, registry), loaded.file, asked, currentUserName()) };
  const approvals = networked ? answerApprovalsAtTerminal(ctx.gateway(), always) : undefined;
  try {
    const runner = new TaskRunner({
      engine: ctx.engine, bus: ctx.bus, clock: systemClock, home: ctx.home, assetsDir: ctx.assetsDir,
      credentials: new CredentialStore(ctx.home.root, ctx.keychain),
      agents: registry, delegation: new DelegationTree(systemClock), live: ctx.live,
      ...(networked ? { gateway: ctx.gateway() } : {}),
    });
    const seen: AirlockEvent[] = [];
    if (opts.learn) ctx.bus.subscribe((event) => seen.push(event));
    const outcome = await runner.run(spec, { signal: controller.signal, taskId: task });
    if (opts.learn) await reportLearned(loaded, learnedAllowlist(seen, outcome.task));
    await ctx.reap();
    if (!opts.json) printSummary(outcome);
    return exitCodeFor(outcome);
  } finally {
    approvals?.stop();
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }
}

/** Whether an event is part of the run of `task`: its own, a descendant's, or one of no task but not the reaper's. */
function ofThisRun(event: AirlockEvent, task: string): boolean {
  if (event.task === task || event.chain?.includes(task)) return true;
  return event.task === '-' && event.kind !== 'engine.forged';
}

export function exitCodeFor(outcome: TaskOutcome): ExitCode {
  if (outcome.status === 'timeout') return EXIT.timeout;
  if (outcome.status === 'cancelled') return EXIT.interrupted;
  if (outcome.status === 'stopped') return EXIT.couldNotRun; // stopped by policy
  return (outcome.exitCode ?? EXIT.couldNotRun) as ExitCode;
}

function printSummary(outcome: TaskOutcome): void {
  const files = `${outcome.artifacts} file${outcome.artifacts === 1 ? '' : 's'}`;
  if (outcome.artifacts > 0) out(`\noutputs (${files}): ${outcome.artifactsDir}\n`);
}

/** Only approved agents run without a prompt: on a terminal, show what it may do and ask; else refuse. */
async function requireApproval(ctx: ReturnType<typeof createContext>, registry: AgentRegistry, loaded: LoadedManifest): Promise<void> {
  const state = registry.stateOf(loaded);
  if (state === 'approved' || state === 'built-in') return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) throw notApproved(loaded, state);
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const intro = state === 'changed' ? 'This manifest has changed since it was approved.' : 'This agent has not been approved yet.';
    const answer = await rl.question(terminalSafe(`${intro}\n${describeAgent(loaded)}\nApprove it and run? [y/N] `));
    if (answer.trim().toLowerCase() !== 'y') throw notApproved(loaded, state);
  } finally {
    rl.close();
  }
  await approveAgent(approvalRecorder(ctx, registry), loaded, currentUserName());
}

/** The built-in demo borrows a credential that `npm run demo` stores (with the pretend vendor API it needs). */
function explainDemoCredential(ctx: ReturnType<typeof createContext>, spec: ReturnType<typeof resolveTaskSpec>): void {
  if (spec.agent.name !== 'demo' || !spec.credentials.some((c) => c.credential === 'demo-vendor-api')) return;
  if (new CredentialStore(ctx.home.root, ctx.keychain).list().some((c) => c.name === 'demo-vendor-api')) return;
  throw new AirlockError('not_found', 'the demo borrows the credential demo-vendor-api, which is not stored yet',
    'run `npm run demo`: it starts the pretend vendor API, stores the demo credential and runs the demo');
}

/** --learn: the smallest allowlist that served this run, as a manifest diff; applied after a yes on a terminal. */
async function reportLearned(loaded: LoadedManifest, learned: Learned): Promise<void> {
  const { allow } = learned;
  const net = loaded.manifest.network;
  // Only this task's own hosts (a child's belong in the child's manifest), each on its line; agent-named hosts made inert.
  const shown = inertDeep({ learned, net });
  err(`\n${learnedReview(shown.learned)}\n${learnedDiff({ mode: shown.net.mode, allow: shown.net.allow, onUnknownHost: shown.net.onUnknownHost }, shown.learned.allow)}\n`);
  if (!process.stdin.isTTY || !process.stderr.isTTY) return;
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    if ((await rl.question(terminalSafe(`Apply it to ${inert(loaded.file)}? [y/N] `))).trim().toLowerCase() === 'y') applyLearnedAllowlist(loaded.file, allow);
  } finally {
    rl.close();
  }
}
