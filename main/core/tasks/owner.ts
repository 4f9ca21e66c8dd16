import fs from 'node:fs';
import os from 'node:os';

/**
 * Who runs a task: host, pid and (on Linux) the process start time, so a reused pid is not
 * mistaken for the original owner. Stored as a label on every engine object of the task.
 */
export function currentOwner(pid = process.pid): string {
  return `${os.hostname()}:${pid}:${processStartTime(pid) ?? 0}`;
}

export function isOwnerAlive(owner: string | undefined): boolean {
  if (!owner) return false;
  const [host, pidText, start] = owner.split(':');
  const pid = Number(pidText);
  if (host !== os.hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (isZombie(pid)) return false; // it has exited; only its parent has not collected it yet
  const actualStart = processStartTime(pid);
  return actualStart === undefined || start === '0' || String(actualStart) === start;
}

/** A process that has exited but not been waited for (a killed engine whose adopter reaps it late). */
function isZombie(pid: number): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

function processStartTime(pid: number): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime) counted after the parenthesised command name, which may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

/** Only leftovers of this machine's processes are judged: a shared remote engine serves others too. */
export function isOwnedHere(owner: string | undefined): boolean {
  return owner?.split(':')[0] === os.hostname();
}
