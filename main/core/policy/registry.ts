import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { AirlockError } from '../errors.js';
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

const entrySchema = z.strictObject({ name: z.string(), file: z.string(), digest: z.string(), approvedAt: z.string(), approvedBy: z.string() });
const fileSchema = z.strictObject({ v: z.literal(1), approvals: z.array(entrySchema) });
type Entry = z.infer<typeof entrySchema>;

/**
 * Which agents may run without a prompt: each approval pins a manifest's file and content digest
 * (AIRLOCK_HOME/approvals.json), so any change to the manifest asks again. The agents that ship
 * with Airlock (assets/agents) count as approved. Names resolve to manifests here, for
 * `airlock run <name>` and for delegation.
 */
export class AgentRegistry {
  readonly #file: string;
  readonly #builtIns: string;

  constructor(home: string, assetsDir: string) {
    this.#file = path.join(home, 'approvals.json');
    this.#builtIns = path.join(assetsDir, 'agents');
  }

  list(): RegisteredAgent[] {
    const agents = new Map<string, RegisteredAgent>();
    for (const name of fs.existsSync(this.#builtIns) ? fs.readdirSync(this.#builtIns).sort() : []) {
      const file = path.join(this.#builtIns, name, 'manifest.yaml');
      if (!fs.existsSync(file)) continue;
      const digest = tryDigest(file);
      agents.set(name, { name, file, digest, approvedDigest: digest, approvedAt: undefined, approvedBy: 'Airlock', state: 'built-in' });
    }
    for (const entry of this.#read()) {
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
    const entry = this.#read().find((e) => e.name === loaded.manifest.name);
    if (!entry || path.resolve(entry.file) !== loaded.file) return 'unapproved';
    return entry.digest === loaded.digest ? 'approved' : 'changed';
  }

  /**
   * Pins this manifest (file and digest) under its name, replacing any earlier approval of that name.
   * A person's approval goes through approval.ts approveAgent, which records it in the trail first.
   */
  approve(loaded: LoadedManifest, by = currentUserName()): Entry {
    const entry: Entry = { name: loaded.manifest.name, file: loaded.file, digest: loaded.digest, approvedAt: new Date().toISOString(), approvedBy: by };
    const others = this.#read().filter((e) => e.name !== entry.name);
    fs.mkdirSync(path.dirname(this.#file), { recursive: true, mode: 0o700 });
    const temp = `${this.#file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, `${JSON.stringify({ v: 1, approvals: [...others, entry] }, null, 2)}\n`, { mode: 0o600 });
    fs.renameSync(temp, this.#file);
    return entry;
  }

  #read(): Entry[] {
    if (!fs.existsSync(this.#file)) return [];
    const parsed = fileSchema.safeParse(JSON.parse(fs.readFileSync(this.#file, 'utf8')));
    if (!parsed.success) throw new AirlockError('internal', `${this.#file} is damaged`, 'remove it and approve your agents again');
    return parsed.data.approvals;
  }
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
