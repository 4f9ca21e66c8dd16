import path from 'node:path';
import type { AgentRegistry } from '../core/policy/registry.js';

/** `airlock run ./my-agent.yaml` or `airlock run demo`: a path to a manifest, or an agent's name. */
export function resolveManifestPath(ref: string, registry: AgentRegistry): string {
  if (/\.ya?ml$/i.test(ref) || ref.includes('/') || ref.includes(path.sep)) return ref;
  return registry.fileOf(ref);
}
