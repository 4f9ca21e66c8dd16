import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AgentRef } from '../audit/events.js';
import { AirlockError } from '../errors.js';
import { ApprovalsFile, type ApprovalEntry } from './approvals-file.js';
import { loadManifestFile, type LoadedManifest } from './manifest.js';

export type ApprovalState = 'built-in' | 'approved' | 'changed' | 'unapproved';

export interface RegisteredAgent {
  name: string;
  file: string;
  /** Digest of the manifest as it is now (undefined if the file is gone or broken). */
  digest: string | undefined;
  approvedDigest: string | undefined;
  approvedAt: string | undefined;
  approvedBy: string | undefined;
  state: ApprovalState;
}

/** An approval held by another file under the same name: what approving a manifest would replace. */
export interface Replaced {
  file: string;
  digest: string;
}

export type DelegateCheck = { ok: true } | { ok: false; reason: string };

/**
 * Which agents may run without a prompt: each approval pins a manifest's file and content digest
 * (AIRLOCK_HOME/approvals.json), so any change to the manifest asks again, and the digests of the
 * agents it may start, so a later approval of another file under a delegate's name never slips
 * into its chain. The agents that ship with Airlock (assets/agents) count as approved and their
 * names are reserved. Names resolve to manifests here, for `airlock run <name>` and for delegation.
 */
export class AgentRegistry {
  readonly #approvals: ApprovalsFile;
  readonly #builtIns: string;

  constructor(home: string, assetsDir: string) {
    this.#approvals = new ApprovalsFile(home);
    this.#builtIns = path.join(assetsDir, 'agents');
  }

  list(): RegisteredAgent[] {
    const agents = new Map<string, RegisteredAgent>();
    for (const [name, file] of this.#builtInFiles()) {
      const digest = tryDigest(file);
      agents.set(name, { name, file, digest, approvedDigest: digest, approvedAt: undefined, approvedBy: 'Airlock', state: 'built-in' });
    }
    // An entry under a built-in's name (possible only in a file from before names were reserved) never counts.
    for (const entry of this.#read().filter((e) => !agents.has(e.name))) {
      const digest = tryDigest(entry.file);
      agents.set(entry.name, { name: entry.name, file: entry.file, digest, approvedDigest: entry.digest, approvedAt: entry.approvedAt, approvedBy: entry.approvedBy, state: digest === entry.digest ? 'approved' : 'changed' });
    }
    return [...agents.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The manifest file of a registered or built-in agent. */
  fileOf(name: string): string {
    const found = this.list().find((a) => a.name === name);
    if (!found) throw new AirlockError('not_found', `no agent named '${name}'`, `approve its manifest first: airlock agents approve <manifest.yaml> (known: ${this.list().map((a) => a.name).join(', ') || 'none'})`);
    return found.file;
  }

  stateOf(loaded: LoadedManifest): ApprovalState {
    if (isInside(loaded.file, this.#builtIns)) return 'built-in';
    if (this.#builtInFiles().has(loaded.manifest.name)) return 'unapproved'; // a reserved name
    const entry = this.#read().find((e) => e.name === loaded.manifest.name);
    if (!entry || path.resolve(entry.file) !== loaded.file) return 'unapproved';
    return entry.digest === loaded.digest ? 'approved' : 'changed';
  }

  /** Refuses a manifest that cannot be approved at all: a built-in's, or one named like a built-in. */
  assertApprovable(loaded: LoadedManifest): void {
    const name = loaded.manifest.name;
    if (isInside(loaded.file, this.#builtIns)) throw new AirlockError('bad_argument', `${name} is a built-in agent: it is approved as Airlock ships it`, 'run it by its name');
    if (this.#builtInFiles().has(name)) {
      throw new AirlockError('policy_refused', `'${name}' is the name of a built-in agent: a manifest from ${loaded.file} cannot take it`, 'give the manifest another name (its name: field), then approve it');
    }
  }

  /** The approval another file holds under this manifest's name, which approving it would replace. */
  replaced(loaded: LoadedManifest): Replaced | undefined {
    const entry = this.#read().find((e) => e.name === loaded.manifest.name);
    return entry && path.resolve(entry.file) !== loaded.file ? { file: entry.file, digest: entry.digest } : undefined;
  }

  /** The digests a manifest's approval pins for the agents it may start: each as built in or approved now (unapproved ones are left out). */
  currentDelegates(loaded: LoadedManifest): Record<string, string> {
    const pins: Record<string, string> = {};
    const known = this.list();
    for (const name of loaded.manifest.delegate?.allow ?? []) {
      const agent = known.find((a) => a.name === name && (a.state === 'built-in' || a.state === 'approved'));
      if (agent?.digest) pins[name] = agent.digest;
    }
    return pins;
  }

  /** The delegates pinned by this file's current approval (undefined: not approved as it is, or approved before pins). */
  pinnedDelegates(loaded: LoadedManifest): Record<string, string> | undefined {
    return this.#read().find((e) => e.name === loaded.manifest.name && path.resolve(e.file) === loaded.file && e.digest === loaded.digest)?.delegates;
  }

  /**
   * Pins this manifest (file, digest and its delegates' digests) under its name, replacing any
   * earlier approval of that name. A person's approval goes through approval.ts approveAgent,
   * which asks before replacing another file's approval and records it in the trail first.
   * `pins`: the delegates' digests to pin (default: as they are approved now; null: none).
   */
  approve(loaded: LoadedManifest, by = currentUserName(), pins: Record<string, string> | null = this.currentDelegates(loaded)): ApprovalEntry {
    this.assertApprovable(loaded);
    const entry: ApprovalEntry = {
      name: loaded.manifest.name, file: loaded.file, digest: loaded.digest, approvedAt: new Date().toISOString(), approvedBy: by,
      ...(pins ? { delegates: pins } : {}),
    };
    this.#approvals.put(entry);
    return entry;
  }

  /**
   * May the running `parent` start this manifest as its delegate? Only if it is the very manifest
   * (by digest) pinned when the parent was approved: a built-in parent starts only built-ins.
   */
  checkDelegate(parent: AgentRef, child: LoadedManifest): DelegateCheck {
    const name = child.manifest.name;
    const builtIn = this.#builtInFiles().get(parent.name);
    if (builtIn && tryDigest(builtIn) === parent.digest) {
      return isInside(child.file, this.#builtIns) ? { ok: true } : { ok: false, reason: `${parent.name} is a built-in agent: it starts only built-in agents, and ${name} is not one` };
    }
    const entry = this.#read().find((e) => e.name === parent.name && e.digest === parent.digest);
    if (!entry) return { ok: false, reason: `${parent.name} is no longer approved as it was when this task started, so it starts no agents` };
    const again = `airlock agents approve ${entry.file}`;
    if (!entry.delegates) return { ok: false, reason: `${parent.name} was approved before Airlock pinned the agents it may start; if you trust ${name} as it is now (${short(child.digest)}), approve ${parent.name} again: ${again}` };
    const pinned = entry.delegates[name];
    if (pinned === undefined) return { ok: false, reason: `${name} was not approved when ${parent.name} was; if you trust it as it is now (${short(child.digest)}), approve ${parent.name} again: ${again}` };
    if (pinned !== child.digest) {
      return { ok: false, reason: `${name} is now ${child.file} (${short(child.digest)}), not the manifest pinned when ${parent.name} was approved (${short(pinned)}); if you trust it, approve ${parent.name} again: ${again}` };
    }
    return { ok: true };
  }

  #builtInFiles(): Map<string, string> {
    const files = new Map<string, string>();
    for (const name of fs.existsSync(this.#builtIns) ? fs.readdirSync(this.#builtIns).sort() : []) {
      const file = path.join(this.#builtIns, name, 'manifest.yaml');
      if (fs.existsSync(file)) files.set(name, file);
    }
    return files;
  }

  #read(): ApprovalEntry[] {
    return this.#approvals.read();
  }
}

function short(digest: string): string {
  return digest.slice(7, 19);
}

function tryDigest(file: string): string | undefined {
  try {
    return loadManifestFile(file).digest;
  } catch {
    return undefined;
  }
}

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** Who is approving: the OS user. */
export function currentUserName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}
