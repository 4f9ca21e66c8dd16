import fs from 'node:fs';
import readline from 'node:readline/promises';
import { parseDocument } from 'yaml';
import type { ApprovalAnswer, ApprovalRequest } from '../core/gateway/approvals.js';
import type { Gateway } from '../core/gateway/gateway.js';
import { addAllowedHost } from '../core/policy/manifest-edit.js';

export { addAllowedHost };

const CHOICES: Record<string, ApprovalAnswer> = { o: 'once', t: 'task', a: 'always', d: 'deny', '': 'deny' };

/**
 * Answers the gateway's "ask" requests at the terminal, one at a time. Without a terminal every
 * request is denied at once (and says so), rather than left to time out.
 */
export function answerApprovalsAtTerminal(gateway: Gateway, manifestFile: string): { stop: () => void; onAlways: (host: string) => void } {
  const interactive = process.stdin.isTTY === true && process.stderr.isTTY === true;
  let queue = Promise.resolve();
  const stop = gateway.approvals.onRequest((request) => {
    if (!interactive) {
      process.stderr.write(`airlock: ${request.host}:${request.port} is not in the allowlist and there is no terminal to ask: denied\n`);
      gateway.approvals.answer(request.id, 'deny');
      return;
    }
    queue = queue.then(() => prompt(gateway, request)).catch(() => undefined);
  });
  // Questions go one at a time: the confirmation for "always" waits behind any prompt on screen.
  const onAlways = (host: string) => {
    queue = queue.then(() => confirmAndAllowAlways(manifestFile, host)).then(() => undefined, () => undefined);
  };
  return { stop, onAlways };
}

async function prompt(gateway: Gateway, request: ApprovalRequest): Promise<void> {
  if (!gateway.approvals.pending(request.task).some((p) => p.id === request.id)) return; // timed out meanwhile
  const seconds = Math.max(0, Math.round((request.expiresAt - Date.now()) / 1000));
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`\nThe agent wants to reach ${request.host}:${request.port}, which is not in its allowlist.\nAllow [o]nce, for this [t]ask, [a]lways (adds it to the manifest), or [d]eny? (denied in ${seconds}s) `);
    gateway.approvals.answer(request.id, CHOICES[answer.trim().toLowerCase().slice(0, 1)] ?? 'deny');
  } finally {
    rl.close();
  }
}

/**
 * "Always": after a confirmation, add the host to network.allow in the manifest file, keeping its
 * comments and layout. Without a terminal nothing is written.
 */
export async function confirmAndAllowAlways(manifestFile: string, host: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const yes = (await rl.question(`Add "${host}" to network.allow in ${manifestFile}? [y/N] `)).trim().toLowerCase() === 'y';
    if (yes) addAllowedHost(manifestFile, host);
    return yes;
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
