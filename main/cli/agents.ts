import fs from 'node:fs';
import path from 'node:path';
import { AirlockError } from '../core/errors.js';

/** `airlock run demo` or `airlock run ./my-agent.yaml`: a path to a manifest, or a built-in agent. */
export function resolveManifestPath(ref: string, assetsDir: string): string {
  if (/\.ya?ml$/i.test(ref) || ref.includes('/') || ref.includes(path.sep)) return ref;
  const builtIn = path.join(assetsDir, 'agents', ref, 'manifest.yaml');
  if (fs.existsSync(builtIn)) return builtIn;
  const known = fs.readdirSync(path.join(assetsDir, 'agents')).filter((name) => fs.existsSync(path.join(assetsDir, 'agents', name, 'manifest.yaml')));
  throw new AirlockError('not_found', `no agent named '${ref}' (built-in agents: ${known.join(', ') || 'none'})`, 'pass the path of a manifest .yaml file, or a built-in agent name');
}
