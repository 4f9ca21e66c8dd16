import readline from 'node:readline/promises';
import { styleText } from 'node:util';
import type { AirlockEvent } from '../core/audit/events.js';
import { isAirlockError } from '../core/errors.js';
import type { EngineClient } from '../core/server/client.js';
import type { ApprovalInfo, ApprovalReply } from '../core/service/types.js';
import { exactHostRule } from '../core/host-pattern.js';
import { formatDuration } from '../core/policy/units.js';
import { err } from './stdout.js';
import { inert, terminalSafe } from './terminal-text.js';

const CHOICES: Record<string, ApprovalReply> = { o: 'once', t: 'task', a: 'always', d: 'deny', '': 'deny' };

/**
 * Answers the engine's "ask" requests of one run's tasks at the terminal, one at a time. Without a
 * terminal each is denied at once as the default (and says so), rather than left to time out.
 * "Always" is offered when the engine can change the task's manifest (not a built-in agent's): it
 * asks for a confirmation, then the engine does what the app does (approvals.answer 'always'):
 * adds the host to the manifest and keeps an approved manifest approved, on the record; only then
 * is the request allowed. If that fails, the person is told and asked again.
 */
export class TerminalApprovals {
  readonly #client: EngineClient;
  readonly #ofThisRun: (task: string) => boolean;
  readonly #interactive = process.stdin.isTTY === true && process.stderr.isTTY === true;
  /** What is waiting now (the engine's whole list, as last pushed). */
  #waiting = new Map<string, ApprovalInfo>();
  readonly #handled = new Set<string>();
  #queue = Promise.resolve();
  readonly #unsubscribe: () => void;

  /** `ofThisRun`: whether a task is this run's (its root or a descendant); others' asks are not ours to answer. */
  constructor(client: EngineClient, ofThisRun: (task: string) => boolean) {
    this.#client = client;
    this.#ofThisRun = ofThisRun;
    this.#unsubscribe = client.subscribe('approvals', (list) => {
      this.#waiting = new Map(list.map((info) => [info.id, info]));
      this.check();
    });
  }

  /** Looks again at what waits (call it when the run's task tree grew: a child's ask may have come first). */
  check(): void {
    for (const info of this.#waiting.values()) {
      if (this.#handled.has(info.id) || !this.#ofThisRun(info.task)) continue;
      this.#handled.add(info.id);
      if (!this.#interactive) {
        sayDenied(info);
        void this.#client.call('approvals.denyUnasked', info.id).catch(() => undefined); // answered meanwhile
        continue;
      }
      this.#queue = this.#queue.then(() => this.#prompt(info)).catch(() => undefined);
    }
  }

  /** Whether this client answers its run's asks (at a terminal): said with the run's start (`answersAsks`). */
  get answers(): boolean {
    return this.#interactive;
  }

  /**
   * An ask of this run the engine denied at once, nobody being connected to answer it (this CLI has
   * no terminal, and no app window is open): said here as a prompt would have been.
   */
  decided(event: AirlockEvent): void {
    if (this.#interactive || event.kind !== 'approval.decided' || event.decision?.rule !== 'ask:unattended') return;
    const { host, port, server, tool, reason, credential, hosts, ttlMs } = event.data;
    sayDenied({
      host: String(host), port: Number(port), ...(typeof reason === 'string' ? { reason } : {}),
      ...(typeof server === 'string' ? { mcp: { server, tool: String(tool) } } : {}),
      ...(typeof credential === 'string' && Array.isArray(hosts) ? { credential: { name: credential, hosts: hosts.map(String), ttlMs: Number(ttlMs) } } : {}),
    });
  }

  stop(): void {
    this.#unsubscribe();
  }

  async #prompt(request: ApprovalInfo): Promise<void> {
    if (request.mcp) return this.#promptTool(request, request.mcp);
    if (request.credential) return this.#promptCredential(request, request.credential);
    const waiting = () => this.#waiting.has(request.id);
    const host = exactHostRule(request) ?? request.host;
    const file = request.manifestFile;
    while (waiting()) {
      const seconds = Math.max(0, Math.round((Date.parse(request.expiresAt) - Date.now()) / 1000));
      const choices = file ? 'Allow [o]nce, for this [t]ask, [a]lways (adds it to the manifest), or [d]eny?' : 'Allow [o]nce, for this [t]ask, or [d]eny?';
      const typed = (await ask(`\nThe agent ${request.reason === undefined ? 'wants to reach' : 'asks for'} a host that is not in its allowlist:\n  ${await requestedHost(request, !process.env.NO_COLOR)}\n${reasonLine(request)}${choices} (denied in ${seconds}s) `)).trim().toLowerCase().slice(0, 1);
      const answer = CHOICES[typed] ?? 'deny';
      if (answer !== 'always') {
        await this.#client.call('approvals.answer', { id: request.id, answer }).catch(() => undefined); // no longer waiting
        return;
      }
      if (!file || !waiting()) continue;
      if ((await ask(`Add "${inert(host)}" to network.allow in ${inert(file)}? [y/N] `)).trim().toLowerCase() !== 'y') continue;
      try {
        await this.#client.call('approvals.answer', { id: request.id, answer: 'always' });
        err(`airlock: ${inert(await this.#describeAlways(host, file))}\n`);
        return;
      } catch (error) {
        err(`airlock: ${inert((error as Error).message)}\n${isAirlockError(error) && error.hint ? `  fix: ${inert(error.hint)}\n` : ''}`);
      }
    }
  }

  /** A held MCP tool call: the person sees the server, the tool and its arguments (agent-made text, shown inert). */
  async #promptTool(request: ApprovalInfo, call: NonNullable<ApprovalInfo['mcp']>): Promise<void> {
    const seconds = Math.max(0, Math.round((Date.parse(request.expiresAt) - Date.now()) / 1000));
    const what = call.changed ? 'a tool whose description or input schema changed since it was first used' : 'a tool that needs your approval';
    const choices = call.changed ? 'Allow [o]nce, for this [t]ask, [a]lways (pins the new description), or [d]eny?' : 'Allow [o]nce, for this [t]ask, or [d]eny?';
    const typed = (await ask(`\nThe agent wants to call ${what}:\n  ${inert(call.server)} / ${inert(call.tool)}\n  arguments: ${inert(call.arguments)}\n${choices} (denied in ${seconds}s) `)).trim().toLowerCase().slice(0, 1);
    const answer = CHOICES[typed] ?? 'deny';
    await this.#client.call('approvals.answer', { id: request.id, answer: answer === 'always' && !call.changed ? 'deny' : answer }).catch(() => undefined); // no longer waiting
  }

  /** A credential the agent asks to be lent, with its reason (agent-made text, shown inert): once (one request) or for this task, never always. */
  async #promptCredential(request: ApprovalInfo, credential: NonNullable<ApprovalInfo['credential']>): Promise<void> {
    const seconds = Math.max(0, Math.round((Date.parse(request.expiresAt) - Date.now()) / 1000));
    const typed = (await ask(`\n${credentialLine(credential)}\n${reasonLine(request)}Lend it [o]nce (one request), for this [t]ask, or [d]eny? (denied in ${seconds}s) `)).trim().toLowerCase().slice(0, 1);
    const answer = CHOICES[typed] ?? 'deny';
    await this.#client.call('approvals.answer', { id: request.id, answer: answer === 'always' ? 'deny' : answer }).catch(() => undefined); // no longer waiting
  }

  /** What "always" did to the manifest, as its approval now stands. */
  async #describeAlways(host: string, file: string): Promise<string> {
    const added = `added ${host} to network.allow in ${file}`;
    const agent = await this.#client.call('agents.inspect', file).catch(() => undefined);
    return agent?.approval === 'approved' ? `${added}; it stays approved (${agent.digest?.slice(7, 19) ?? ''})` : `${added}; it needs approving before its next run`;
  }
}

/** An ask denied with nobody to ask at this terminal, as the person reads it (the agent's text inert). */
function sayDenied(info: { host: string; port: number; reason?: string; mcp?: { server: string; tool: string }; credential?: ApprovalInfo['credential'] }): void {
  if (info.credential) err(`airlock: ${credentialLine(info.credential)}, and no terminal to ask: denied\n${reasonLine(info)}`);
  else if (info.mcp) err(`airlock: a tool call that needs a person (${inert(info.mcp.server)}/${inert(info.mcp.tool)}), and no terminal to ask: denied\n`);
  else void requestedHost(info, false).then((line) => err(`airlock: a host outside the allowlist, and no terminal to ask: denied\n  ${line}\n${reasonLine(info)}`));
}

/**
 * The host asked for, whole and with its port, its registrable domain first (bold on a colour
 * terminal): `evil.test  ← login.example.com.evil.test:443`. Never shortened: the domain decides.
 */
async function requestedHost(request: { host: string; port: number }, colour: boolean): Promise<string> {
  // Loaded when an ask comes: the public suffix list is large, and most runs never ask.
  const { hostLine } = await import('../core/text/host-display.js');
  const host = inert(request.host);
  return hostLine(host, request.port, (domain) => (colour ? styleText('bold', domain) : domain));
}

/** A credential asked for, as the person reads it: its name, the hosts it works for, for how long. */
function credentialLine(credential: NonNullable<ApprovalInfo['credential']>): string {
  return `The agent asks to be lent the credential ${inert(credential.name)} (for ${credential.hosts.map(inert).join(', ')}, ${formatDuration(credential.ttlMs)}; it gets a placeholder, never the secret)`;
}

/** The agent's reason for an access request, on a line of its own, inert (it is the agent's text); nothing for a plain ask. */
function reasonLine(request: { reason?: string }): string {
  return request.reason === undefined ? '' : `  the agent's reason: "${inert(request.reason)}"\n`;
}

/** One line of answer to `question`, asked on stderr (made terminal-safe). */
export async function ask(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(terminalSafe(question));
  } finally {
    rl.close();
  }
}

/** Learn mode's result, written into the manifest: allowlist mode with exactly these hosts, unknown hosts denied. */
export async function applyLearnedAllowlist(manifestFile: string, allow: string[]): Promise<void> {
  const [fs, { parseDocument }] = await Promise.all([import('node:fs'), import('yaml')]); // loaded when used
  const document = parseDocument(fs.readFileSync(manifestFile, 'utf8'));
  document.setIn(['network', 'mode'], 'allowlist');
  document.setIn(['network', 'allow'], allow);
  document.setIn(['network', 'onUnknownHost'], 'deny');
  fs.writeFileSync(manifestFile, document.toString());
}
