// A manifest of the user's that names a kit (`kit: claude-code`): the way a person gives a kit MCP
// servers. It is the user's file, so it is approved by its digest like any manifest (the approval
// shows its servers and their tool rules); what it runs is the kit's own manifest, with only this
// file's name, description, `mcp:`, `budget:`, `loops:` and `onViolation:` (the schema refuses any
// other key beside `kit:`). Relative paths in it (an MCP server's inputs) resolve against its folder.
import path from 'node:path';
import { AirlockError } from '../errors.js';
import { loadManifestFile, type LoadedManifest } from '../policy/manifest.js';
import { findKit } from './kit.js';

/** The manifest a run uses: a `kit:` manifest laid over its kit's; any other as it is. */
export function withKit(loaded: LoadedManifest, assetsDir: string): LoadedManifest {
  const { manifest } = loaded;
  if (manifest.kit === undefined) return loaded;
  const kit = findKit(assetsDir, manifest.kit);
  if (manifest.mcp.length > 0 && kit.mcp === undefined) {
    throw new AirlockError('bad_manifest', `${loaded.file}: kit ${kit.name} cannot be given MCP servers`, 'remove mcp:, or name a kit that takes them');
  }
  const base = loadManifestFile(path.join(assetsDir, 'agents', kit.name, 'manifest.yaml')).manifest;
  return {
    ...loaded,
    manifest: {
      ...base, name: manifest.name, description: manifest.description ?? base.description, kit: kit.name,
      mcp: manifest.mcp, onViolation: manifest.onViolation,
      ...(manifest.budget ? { budget: manifest.budget } : {}), ...(manifest.loops ? { loops: manifest.loops } : {}),
    },
  };
}
