import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AirlockError, isAirlockError } from '../errors.js';
import { StateFile, type StateFileFormat } from '../state-file.js';
import { loadManifestFile, type LoadedManifest } from '../policy/manifest.js';
import { DEFAULT_DESKTOP_IMAGE, DEFAULT_IMAGE } from '../policy/manifest-schema.js';
import { approveAgent, type ApprovalRecorder } from '../policy/approval.js';
import { approvalSummary } from './approval-summary.js';
import { kitImage, kitOfManifest } from '../kits/kit.js';
import { withKit } from '../kits/kit-manifest.js';
import { AgentRegistry as Approvals } from '../policy/registry.js';
import type { AgentInspection, AgentSummary } from './types.js';

const MAX_RECENT = 20;
type OpenedAgent = { file: string; openedAt: string };
const openedFormat: StateFileFormat<OpenedAgent[]> = {
  holds: 'the manifests you opened in the app',
  recover: 'open your manifests again (Agents → Open manifest…); approvals are kept elsewhere and still hold',
  version: 1,
  readers: { 1: z.object({ v: z.literal(1), recent: z.array(z.object({ file: z.string(), openedAt: z.string() })) }).transform((file) => file.recent) },
  empty: () => [],
  encode: (recent) => ({ recent }),
};

/**
 * The agents the app offers: the built-in ones (assets/agents/<name>/manifest.yaml) and manifests
 * the user opened, remembered in AIRLOCK_HOME/agents.json (most recent first). A task can only be
 * started for an agent listed here, so the UI never names an arbitrary file to run.
 */
export class AgentRegistry {
  readonly #assetsDir: string;
  readonly #file: StateFile<OpenedAgent[]>;
  /** Approvals pinned to manifest digests (main/core/policy/registry.ts), shared with the CLI. */
  readonly approvals: Approvals;

  constructor(options: { assetsDir: string; home: string }) {
    this.#assetsDir = options.assetsDir;
    this.#file = new StateFile(path.join(options.home, 'agents.json'), openedFormat);
    this.approvals = new Approvals(options.home, options.assetsDir);
  }

  list(): AgentSummary[] {
    const builtIn = this.#builtInFolders().map((folder) => summarize(`builtin:${folder}`, 'built-in', path.join(this.#assetsDir, 'agents', folder, 'manifest.yaml'), this.approvals, this.#assetsDir));
    const opened = this.#recent().map((entry) => summarize(`file:${entry.file}`, 'opened', entry.file, this.approvals, this.#assetsDir));
    return [...builtIn, ...opened];
  }

  /** Remembers a manifest the user chose (it must load) and returns its summary. */
  open(file: string): AgentSummary {
    const absolute = path.resolve(file);
    withKit(loadManifestFile(absolute), this.#assetsDir); // refuse what does not load, with the field that is wrong
    const opened = { file: absolute, openedAt: new Date().toISOString() };
    this.#file.update((recent) => [opened, ...recent.filter((entry) => entry.file !== absolute)].slice(0, MAX_RECENT));
    return summarize(`file:${absolute}`, 'opened', absolute, this.approvals, this.#assetsDir);
  }

  forget(id: string): void {
    if (!id.startsWith('file:')) throw new AirlockError('bad_argument', `${id} is a built-in agent and cannot be removed`, 'only opened manifests can be removed from the list');
    const file = id.slice('file:'.length);
    this.#file.update((recent) => recent.filter((entry) => entry.file !== file));
  }

  /**
   * Approves a listed agent's manifest as it is now, on the record; returns the agent with its new
   * state. Another file's approval under the same name is replaced only when `replaces` is its
   * digest: what the person was shown and confirmed, not whatever holds the name by now.
   */
  async approve(id: string, recorder: ApprovalRecorder, by: string, options: { replaces?: string } = {}): Promise<AgentSummary> {
    const loaded = this.load(id);
    await approveAgent(recorder, loaded, by, undefined, options.replaces === undefined ? {} : { replaces: options.replaces });
    return summarize(id, id.startsWith('builtin:') ? 'built-in' : 'opened', loaded.file, this.approvals, this.#assetsDir);
  }

  /**
   * An agent a client that is the user's own program names (`airlock run <agent>`): a built-in
   * or approved agent's name, or a manifest's absolute path, loaded now. Its id is what
   * agents.list would call it (`builtin:<folder>` or `file:<path>`), listed or not.
   */
  resolveRef(ref: string): { id: string; loaded: LoadedManifest } {
    const file = path.isAbsolute(ref) ? ref : this.approvals.fileOf(ref);
    const loaded = withKit(loadManifestFile(file), this.#assetsDir);
    const builtIn = this.approvals.stateOf(loaded) === 'built-in';
    return { id: builtIn ? `builtin:${path.basename(path.dirname(loaded.file))}` : `file:${loaded.file}`, loaded };
  }

  /** What the approval prompt shows of an agent a client names (see resolveRef), and its state. */
  inspect(ref: string): AgentInspection {
    const { id, loaded } = this.resolveRef(ref);
    const pins = this.approvals.currentDelegates(loaded);
    const delegatePins = (loaded.manifest.delegate?.allow ?? []).map((name) => ({ name, ...(pins[name] ? { digest: pins[name] } : {}) }));
    return { ...summarize(id, id.startsWith('builtin:') ? 'built-in' : 'opened', loaded.file, this.approvals, this.#assetsDir), delegatePins };
  }

  /** Refuses an agent that is not built in or approved as it is now. */
  requireApproved(loaded: LoadedManifest): void {
    const state = this.approvals.stateOf(loaded);
    if (state === 'approved' || state === 'built-in') return;
    throw new AirlockError('policy_refused', state === 'changed'
      ? `agent ${loaded.manifest.name}: its manifest has changed since it was approved`
      : `agent ${loaded.manifest.name} has not been approved yet`, 'review what it may do on its card in Agents, then press Approve');
  }

  /** The manifest of a listed agent, loaded now (so a changed file is run as it is now). */
  load(id: string): LoadedManifest {
    const agent = this.#resolve(id);
    return withKit(loadManifestFile(agent), this.#assetsDir);
  }

  #resolve(id: string): string {
    if (id.startsWith('builtin:')) {
      const folder = id.slice('builtin:'.length);
      if (this.#builtInFolders().includes(folder)) return path.join(this.#assetsDir, 'agents', folder, 'manifest.yaml');
    } else if (id.startsWith('file:')) {
      const file = id.slice('file:'.length);
      if (this.#recent().some((entry) => entry.file === file)) return file;
    }
    throw new AirlockError('not_found', `no agent ${id} in the list`, 'open its manifest first (Agents → Open manifest…)');
  }

  #builtInFolders(): string[] {
    const dir = path.join(this.#assetsDir, 'agents');
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir).filter((name) => fs.existsSync(path.join(dir, name, 'manifest.yaml'))).sort();
  }

  #recent(): OpenedAgent[] {
    return this.#file.read();
  }
}

function summarize(id: string, source: AgentSummary['source'], file: string, approvals: Approvals, assetsDir: string): AgentSummary {
  try {
    const loaded = withKit(loadManifestFile(file), assetsDir);
    const { manifest, digest } = loaded;
    const { network, resources } = manifest;
    return {
      id, source, file, name: manifest.name, digest, image: manifest.image ?? (manifest.display ? DEFAULT_DESKTOP_IMAGE : DEFAULT_IMAGE),
      ...(manifest.description !== undefined ? { description: manifest.description } : {}),
      network: { mode: network.mode, allow: [...network.allow], local: [...network.local], onUnknownHost: network.onUnknownHost },
      delegates: [...(manifest.delegate?.allow ?? [])],
      ...(manifest.timeout !== undefined ? { timeout: manifest.timeout } : {}),
      resources: {
        ...(resources.cpus !== undefined ? { cpus: resources.cpus } : {}),
        ...(resources.memory !== undefined ? { memory: String(resources.memory) } : {}),
      },
      envNames: Object.keys(manifest.env),
      credentials: manifest.credentials.map((c) => ({ name: c.name, ...(c.ttl !== undefined ? { ttl: c.ttl } : {}) })),
      approval: approvals.stateOf(loaded),
      ...replacement(loaded, approvals),
      review: approvalSummary(loaded),
      ...kitSummary(loaded, assetsDir),
    };
  } catch (error) {
    const name = source === 'built-in' ? id.slice('builtin:'.length) : path.basename(file);
    return {
      id, source, file, name,
      error: isAirlockError(error)
        ? { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) }
        : { code: 'internal', message: `cannot load ${file}` },
    };
  }
}

function kitSummary(loaded: LoadedManifest, assetsDir: string): Pick<AgentSummary, 'kit'> {
  const kit = kitOfManifest(loaded.file, loaded.manifest, assetsDir);
  return kit ? { kit: { name: kit.name, image: kitImage(kit.name, kit.version), endpoint: kit.endpoint.default, provider: kit.provider, credential: kit.credential } } : {};
}

/** The approval another file holds under this name, while this one is not approved itself. */
function replacement(loaded: LoadedManifest, approvals: Approvals): Pick<AgentSummary, 'replaces'> {
  const state = approvals.stateOf(loaded);
  if (state === 'approved' || state === 'built-in') return {};
  const replaced = approvals.replaced(loaded);
  return replaced ? { replaces: { file: replaced.file, digest: replaced.digest } } : {};
}
