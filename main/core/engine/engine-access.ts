// May this user use the engine's local socket? The kernel's answer (root, owner, group, others)
// before any request, so that a refusal says which right is missing and the command that gives it:
// `airlock doctor` shows it, and a task refused with EACCES says the same fix.
import fs from 'node:fs';
import os from 'node:os';

export interface EngineAccess {
  ok: boolean;
  message: string;
  fix?: string;
}

/** Who this process is, as the kernel checks a socket's permissions. */
export interface Identity {
  uid: number;
  gids: number[];
  user: string;
}

export interface AccessDeps {
  identity?: Identity;
  stat?: (file: string) => fs.Stats | undefined;
  groupName?: (gid: number) => string | undefined;
}

export function processIdentity(): Identity {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const gids = typeof process.getgroups === 'function' ? [...new Set([process.getgid!(), ...process.getgroups()])] : [];
  let user = String(uid);
  try {
    user = os.userInfo().username;
  } catch {
    // a uid without a passwd entry (a container): the number does
  }
  return { uid, gids, user };
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}

/** The name of a group from /etc/group (undefined when it has none there). */
export function groupNameFromEtc(gid: number, groupFile = '/etc/group'): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(groupFile, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (name && id !== undefined && Number(id) === gid) return name;
  }
  return undefined;
}

const octal = (mode: number) => (mode & 0o777).toString(8).padStart(3, '0');

/**
 * May this user open the engine's unix socket (connecting needs write permission on it)? Says
 * through what (root, owner: a rootless engine, group, others) or, when not, the command that
 * gives the right. Undefined for an endpoint that is not a local unix socket (tcp, ssh, a named
 * pipe): its rights are the remote engine's (certificate, ssh user).
 */
export function socketAccess(socketPath: string, deps: AccessDeps = {}): EngineAccess {
  const me = deps.identity ?? processIdentity();
  const stat = (deps.stat ?? statOrUndefined)(socketPath);
  const groupName = deps.groupName ?? ((gid: number) => groupNameFromEtc(gid));
  if (!stat) {
    return { ok: false, message: `no engine socket at ${socketPath}`, fix: 'start the engine (`sudo systemctl start docker`, Docker Desktop, or ./scripts/setup.sh), or set DOCKER_HOST' };
  }
  if (!stat.isSocket()) return { ok: false, message: `${socketPath} is not a socket`, fix: 'check what made it; point DOCKER_HOST at the engine\'s socket' };
  const group = groupName(stat.gid) ?? String(stat.gid);
  const owner = stat.uid === 0 ? 'root' : String(stat.uid);
  const what = `${socketPath} (${owner}:${group}, ${octal(stat.mode)})`;
  if (me.uid === 0) return { ok: true, message: `root may use ${what}` };
  if (stat.uid === me.uid) {
    return (stat.mode & 0o200) !== 0
      ? { ok: true, message: `${what} is yours: a rootless engine, running as ${me.user}` }
      : { ok: false, message: `${what} is yours but not writable`, fix: `chmod u+w ${socketPath}` };
  }
  if (me.gids.includes(stat.gid) && (stat.mode & 0o020) !== 0) {
    return { ok: true, message: `${me.user} may use ${what} as a member of ${group} (which is as good as root on this machine)` };
  }
  if ((stat.mode & 0o002) !== 0) return { ok: true, message: `anyone on this machine may use ${what}` };
  if ((stat.mode & 0o020) !== 0 && stat.uid === 0) {
    return {
      ok: false,
      message: `${me.user} may not use ${what}: not in the group ${group}`,
      fix: `sudo usermod -aG ${group} ${me.user}, then log in again (or run \`newgrp ${group}\`); or use a rootless engine`,
    };
  }
  return { ok: false, message: `${me.user} may not use ${what}`, fix: 'use an engine of your own (rootless Docker, Podman) and set DOCKER_HOST to its socket' };
}
