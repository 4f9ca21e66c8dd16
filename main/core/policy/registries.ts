// Package registries by name (`network.registries`, `run --registry`): what an agent that installs
// packages at run time (npm, npx, pip) needs the network to allow, without the user knowing each
// registry's hosts. `npm` and `pypi` are the public registries; `npm=URL` / `pypi=URL` is a
// company's (Verdaccio, Artifactory, devpi…): exactly its host and port as a `local` rule (it is
// often on a private address), and the tool in the sandbox pointed at it.
import { parseEndpointUrl } from '../endpoint-url.js';
import { AirlockError } from '../errors.js';

export type RegistryKind = 'npm' | 'pypi';

export interface RegistryPreset {
  /** The hosts the public registry serves from (metadata and files), port 443 only. */
  hosts: string[];
  /** The variable that points the tool at a company registry instead. */
  env: string;
  description: string;
}

export const REGISTRY_PRESETS: Readonly<Record<RegistryKind, RegistryPreset>> = {
  npm: { hosts: ['registry.npmjs.org:443'], env: 'NPM_CONFIG_REGISTRY', description: 'the npm registry (npm, npx)' },
  pypi: { hosts: ['pypi.org:443', 'files.pythonhosted.org:443'], env: 'PIP_INDEX_URL', description: 'the Python Package Index (pip)' },
};

/** A manifest or a run names at most this many registries. */
export const MAX_REGISTRIES = 8;

/** One registry a task may reach, expanded: what the network gets and what the sandbox is told. */
export interface Registry {
  /** As given, normalised: `npm`, `pypi`, `npm=https://npm.corp.example/`. */
  name: string;
  kind: RegistryKind;
  /** Added to `network.allow` (a public registry). */
  allow: string[];
  /** Added to `network.local` (a company registry: exactly its host:port). */
  local: string[];
  /** Set in the sandbox (a company registry's URL for its tool). */
  env: Record<string, string>;
}

const EXAMPLE = 'npm, pypi, npm=https://npm.corp.example or pypi=https://pypi.corp.example/simple';

function isKind(text: string): text is RegistryKind {
  return Object.hasOwn(REGISTRY_PRESETS, text);
}

/** One registry from its text; refused (bad_argument, naming `option`) unless it is one of the forms above. */
export function parseRegistry(text: string, option = '--registry'): Registry {
  const eq = text.indexOf('=');
  const kind = eq < 0 ? text : text.slice(0, eq);
  if (!isKind(kind)) {
    throw new AirlockError('bad_argument', `${option}: '${text.slice(0, 80)}' is not a registry`, `name one of ${Object.keys(REGISTRY_PRESETS).join(', ')}, or a company's as npm=<https URL>: e.g. ${EXAMPLE}`);
  }
  if (eq < 0) return { name: kind, kind, allow: [...REGISTRY_PRESETS[kind].hosts], local: [], env: {} };
  const endpoint = parseEndpointUrl(text.slice(eq + 1), { option: `${option} ${kind}=`, example: kind === 'npm' ? 'npm=https://npm.corp.example' : 'pypi=https://pypi.corp.example/simple' });
  // npm wants a registry URL ending in `/`; pip takes the index URL as given.
  const url = kind === 'npm' ? `${endpoint.url}/` : endpoint.url;
  return { name: `${kind}=${url}`, kind, allow: [], local: [endpoint.localRule], env: { [REGISTRY_PRESETS[kind].env]: url } };
}

/** A list of registries: each once, at most one company registry of each kind (its tool takes one URL). */
export function parseRegistries(texts: readonly string[], option = '--registry'): Registry[] {
  if (texts.length > MAX_REGISTRIES) throw new AirlockError('bad_argument', `${option}: ${texts.length} registries, at most ${MAX_REGISTRIES}`, 'name each registry once');
  const registries: Registry[] = [];
  for (const text of texts) {
    const registry = parseRegistry(text, option);
    if (registries.some((r) => r.name === registry.name)) continue;
    const clash = registries.find((r) => r.kind === registry.kind && Object.keys(r.env).length > 0 && Object.keys(registry.env).length > 0);
    if (clash) throw new AirlockError('bad_argument', `${option}: two ${registry.kind} registries by URL (${clash.name}, ${registry.name})`, `${REGISTRY_PRESETS[registry.kind].env} takes one: name one company ${registry.kind} registry`);
    registries.push(registry);
  }
  return registries;
}

/** Whether `text` is a registry (for the manifest schema, which reports the field path itself). */
export function isRegistry(text: string): boolean {
  try {
    parseRegistry(text);
    return true;
  } catch {
    return false;
  }
}
