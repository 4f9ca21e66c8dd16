import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BUNDLE_REF } from './branch-bundle.js';

const run = promisify(execFile);

/** The branch a task's change is fetched to in the user's repository. */
export function changeBranch(task: string): string {
  return `airlock/${task}`;
}

/**
 * Fetches the bundle's commits into the user's repository as `refs/heads/airlock/<task>`: refs and
 * objects only (the working tree, index and current branch are untouched; git refuses to fetch into
 * the checked-out branch, and an existing branch is never overwritten). Every object is checked
 * (transfer.fsckObjects). The user's own repository configuration applies — this is the user's git
 * on the user's repository; the agent's `.git` never reaches the host, only the bundle git made of it.
 */
export async function fetchChangeBranch(repo: string, bundle: string, task: string, timeoutMs = 120_000): Promise<string> {
  const branch = changeBranch(task);
  const env = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '', GIT_PROTOCOL_FROM_USER: '0' };
  await run('git', [
    // No hook runs for Airlock's fetch (a reference-transaction hook would fire on the new ref): nothing runs on the host.
    '-C', repo, '-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false', '-c', 'transfer.fsckObjects=true', '-c', 'fetch.fsckObjects=true', '-c', 'protocol.allow=never', '-c', 'protocol.file.allow=always',
    'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--no-recurse-submodules', '--no-auto-gc', '--', bundle, `${BUNDLE_REF}:refs/heads/${branch}`,
  ], { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024 });
  return branch;
}
