import fs from 'node:fs';
import readline from 'node:readline/promises';
import { styleText } from 'node:util';
import { parseDocument } from 'yaml';
import { isAirlockError } from '../core/errors.js';
import type { ApprovalAnswer, ApprovalRequest } from '../core/gateway/approvals.js';
import type { Gateway } from '../core/gateway/gateway.js';
import type { AlwaysOutcome } from '../core/policy/approval.js';
import { exactHostRule } from '../core/host-pattern.js';
import { addAllowedHost } from '../core/policy/manifest-edit.js';
import { hostLine } from '../core/text/host-display.js';
import { err } from './stdout.js';
import { inert, terminalSafe } from './terminal-text.js';

export { addAllowedHost };

const CHOICES: Record<string, ApprovalAnswer> = { o: 'once', t: 'task', a: 'always', d: 'deny', '': 'deny' };

/** "Always" for a task's manifest: the core use case (approval.ts allowHostAlways), bound to the file. */
export interface AlwaysAtTerminal {
  file: string;
  allow: (asked: { host: string; port: number }) => Promise<AlwaysOutcome>;
}

/**
 * Answers the gateway's "ask" requests at the terminal, one at a time. Without a terminal every
 * request is denied at once (and says so), rather than left to time out. "Always" (offered when
 * the manifest may be changed: not for a built-in agent) asks for a confirmation, then does what
 * the app does: adds the host to the manifest and keeps an approved manifest approved, on the
 * record; only then is the request allowed. If that fails, the person is told and asked again.
 */
export function answerApprovalsAtTerminal(gateway: Gateway, always: AlwaysAtTerminal | undefined): { stop: () => void } {
  const interactive = process.stdin.isTTY === true && process.stderr.isTTY === true;
  let queue = Promise.resolve();
  const stop = gateway.approvals.onRequest((request) => {
    if (!interactive) {
      err(`airlock: a host outside the allowlist, and no terminal to ask: denied\n  ${requestedHost(request, false)}\n`);
      gateway.approvals.denyUnasked(request.id);
      return;
    }
    queue = queue.then(() => prompt(gateway, request, always)).catch(() => undefined);
  });
  return { stop };
}

async function prompt(gateway: Gateway, request: ApprovalRequest, always: AlwaysAtTerminal | undefined): Promise<void> {
  const waiting = () => gateway.approvals.pending(request.task).some((p) => p.id === request.id);
  const host = exactHostRule(request) ?? request.host;
  while (waiting()) {
    const seconds = Math.max(0, Math.round((request.expiresAt - Date.now()) / 1000));
    const choices = always ? 'Allow [o]nce, for this [t]ask, [a]lways (adds it to the manifest), or [d]eny?' : 'Allow [o]nce, for this [t]ask, or [d]eny?';
    const typed = (await ask(`\nThe agent wants to reach a host that is not in its allowlist:\n  ${requestedHost(request, !process.env.NO_COLOR)}\n${choices} (denied in ${seconds}s) `)).trim().toLowerCase().slice(0, 1);
    const answer = CHOICES[typed] ?? 'deny';
    if (answer !== 'always') {
      gateway.approvals.answer(request.id, answer);
      return;
    }
    if (!always || !waiting()) continue;
    if ((await ask(`Add "${inert(host)}" to network.allow in ${inert(always.file)}? [y/N] `)).trim().toLowerCase() !== 'y') continue;
    try {
      const outcome = await always.allow(request);
      err(`airlock: ${inert(outcome.message)}\n`);
      gateway.approvals.answer(request.id, 'always');
      return;
    } catch (error) {
      err(`airlock: ${inert((error as Error).message)}\n${isAirlockError(error) && error.hint ? `  fix: ${inert(error.hint)}\n` : ''}`);
    }
  }
}

/**
 * The host asked for, whole and with its port, its registrable domain first (bold on a colour
 * terminal): `evil.test  ← login.example.com.evil.test:443`. Never shortened: the domain decides.
 */
function requestedHost(request: ApprovalRequest, colour: boolean): string {
  const host = inert(request.host);
  return hostLine(host, request.port, (domain) => (colour ? styleText('bold', domain) : domain));
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
export function applyLearnedAllowlist(manifestFile: string, allow: string[]): void {
  const document = parseDocument(fs.readFileSync(manifestFile, 'utf8'));
  document.setIn(['network', 'mode'], 'allowlist');
  document.setIn(['network', 'allow'], allow);
  document.setIn(['network', 'onUnknownHost'], 'deny');
  fs.writeFileSync(manifestFile, document.toString());
}
