// A kit: a built-in agent for a real tool (Claude Code, Codex, Gemini CLI). Its folder
// assets/agents/<kit>/ holds an ordinary manifest.yaml and a kit.yaml, read here: which npm
// package the image is built from (pinned), the command it puts on PATH, the credential the
// manifest lends, and how the tool is pointed at another endpoint (`--endpoint`).
import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { CREDENTIAL_PRESETS } from '../credentials/presets.js';
import { AirlockError } from '../errors.js';
import { manifestError } from '../policy/manifest.js';
import type { Manifest } from '../policy/manifest-schema.js';
import { KIT_MCP_FORMATS, type KitMcpFormat } from './kit-mcp.js';

export const KIT_FILE = 'kit.yaml';
/** The repository of a kit's image: `airlock/kit-<kit>:<version>`. */
export const KIT_IMAGE_REPOSITORY = 'airlock/kit-';
/** Where a kit's package is installed in its image. */
export const KIT_INSTALL_ROOT = '/opt/airlock/kits';

/** An exact npm version (`2.1.32`, `0.45.0-preview.1`): no ranges, no tags. */
export const EXACT_VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]{1,64})?$/;
const NPM_NAME = /^(?:@[a-z0-9][a-z0-9._-]{0,100}\/)?[a-z0-9][a-z0-9._-]{0,100}$/;
const COMMAND_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const IMAGE_PATH = /^\/(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._/-]{1,250}$/;

const kitSchema = z.strictObject({
  package: z.string().regex(NPM_NAME, { error: 'must be an npm package name such as @anthropic-ai/claude-code' }),
  version: z.string().regex(EXACT_VERSION, { error: 'must be an exact version such as 2.1.32 (no range, no tag)' }),
  bin: z.string().regex(COMMAND_NAME, { error: 'must be a command name such as claude' }),
  provider: z.string().refine((name) => Object.hasOwn(CREDENTIAL_PRESETS, name), { error: `must be a credential preset: ${Object.keys(CREDENTIAL_PRESETS).join(', ')}` }),
  credential: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/).optional(),
  endpoint: z.strictObject({
    default: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }),
    /** The variable the tool reads its base URL from. */
    env: z.string().regex(ENV_NAME).optional(),
    /** Arguments put before the user's that tell the tool the endpoint; `{url}` is replaced by it. */
    args: z.array(z.string().max(4096)).max(20).optional(),
    /** Added to an `--endpoint` URL that has no path (Codex's base URL ends in /v1). */
    path: z.string().regex(/^\/[A-Za-z0-9._~/-]{1,200}$/).optional(),
  }).refine((e) => e.env !== undefined || e.args !== undefined, { error: 'needs env or args: how the tool is told the endpoint' }),
  /**
   * The tool's own install step (e.g. Claude Code's install.cjs that places its native binary),
   * run in the image build with no network, in the package's install folder. Never on the host.
   */
  postinstall: z.array(z.string().min(1).max(4096)).min(1).max(50).optional(),
  /** Removed after `postinstall` (relative to the install folder, `*` allowed): what it copied the program out of. */
  prune: z.array(z.string().regex(/^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9@._*-][A-Za-z0-9@._*/-]{0,250}$/, { error: 'must be a relative path without . or .. segments' })).max(20).optional(),
  /** The MCP client configuration the tool reads (kit-mcp.ts); without it the kit takes no `mcp:` servers. */
  mcp: z.enum(KIT_MCP_FORMATS).optional(),
  /** Files written into the image (root-owned, read-only for the agent): absolute path → content. */
  files: z.record(z.string().regex(IMAGE_PATH, { error: 'must be an absolute path in the image' }), z.string().max(65_536)).default({}),
});

export interface Kit {
  /** The kit's folder name under assets/agents, which is also the agent's name. */
  name: string;
  package: string;
  version: string;
  bin: string;
  provider: string;
  /** The credential the manifest lends (default: the provider's name). */
  credential: string;
  endpoint: { default: string; env?: string; args?: string[]; path?: string };
  postinstall?: string[];
  prune?: string[];
  /** How the tool is told its MCP servers (kit-mcp.ts). */
  mcp?: KitMcpFormat;
  files: Record<string, string>;
}

/** The image of a kit at a version. */
export function kitImage(kit: string, version: string): string {
  return `${KIT_IMAGE_REPOSITORY}${kit}:${version}`;
}

/** Parses a kit.yaml (`source` names it in errors); `name` is its folder. */
export function parseKit(text: string, name: string, source = KIT_FILE): Kit {
  const document = parseDocument(text, { uniqueKeys: true });
  if (document.errors.length > 0) throw new AirlockError('bad_manifest', `${source}: not valid YAML: ${document.errors[0]!.message.split('\n')[0]}`, 'fix the YAML syntax');
  const result = kitSchema.safeParse(document.toJS());
  if (!result.success) throw manifestError(source, result.error);
  const { credential, endpoint, postinstall, prune, mcp, ...rest } = result.data;
  if (prune && !postinstall) throw new AirlockError('bad_manifest', `${source}: prune: is only for what postinstall copied out of`, 'remove prune, or add the postinstall step');
  return {
    name, ...rest, credential: credential ?? rest.provider,
    endpoint: { default: endpoint.default, ...(endpoint.env ? { env: endpoint.env } : {}), ...(endpoint.args ? { args: endpoint.args } : {}), ...(endpoint.path ? { path: endpoint.path } : {}) },
    ...(postinstall ? { postinstall } : {}), ...(prune ? { prune } : {}), ...(mcp ? { mcp } : {}),
  };
}

/**
 * The kit of a built-in agent's manifest file (`<assets>/agents/<kit>/manifest.yaml` with a
 * kit.yaml beside it) or of a manifest naming one (`kit:`, laid over the kit's by withKit), checked
 * against the manifest; undefined for every other agent. A kit.yaml
 * beside a manifest the user opened makes nothing a kit: kits ship with Airlock.
 */
export function kitOfManifest(file: string, manifest: Manifest, assetsDir: string): Kit | undefined {
  if (manifest.kit !== undefined) {
    // A user's manifest naming a kit, laid over the kit's own (kit-manifest.ts withKit).
    const kit = findKit(assetsDir, manifest.kit);
    checkKitManifest(kit, manifest);
    return kit;
  }
  const dir = path.dirname(path.resolve(file));
  if (path.dirname(dir) !== path.join(path.resolve(assetsDir), 'agents')) return undefined;
  const kitFile = path.join(dir, KIT_FILE);
  if (!fs.existsSync(kitFile)) return undefined;
  const name = path.basename(dir);
  const kit = parseKit(fs.readFileSync(kitFile, 'utf8'), name, `agents/${name}/${KIT_FILE}`);
  checkKitManifest(kit, manifest);
  return kit;
}

/** The kit's manifest must name the kit's image and lend its credential. */
export function checkKitManifest(kit: Kit, manifest: Manifest): void {
  const where = `agents/${kit.name}/manifest.yaml`;
  if (manifest.name !== kit.name && manifest.kit !== kit.name) throw new AirlockError('bad_manifest', `${where}: name must be ${kit.name}, the kit's folder`);
  if (manifest.image !== kitImage(kit.name, kit.version)) throw new AirlockError('bad_manifest', `${where}: image must be ${kitImage(kit.name, kit.version)} (kit.yaml's version)`);
  if (!manifest.credentials.some((c) => c.name === kit.credential && c.delivery === 'proxy')) {
    throw new AirlockError('bad_manifest', `${where}: must lend the credential ${kit.credential} with proxy delivery`);
  }
}

/** The kits shipped in `<assets>/agents`, by name. */
export function listKits(assetsDir: string): Kit[] {
  const dir = path.join(assetsDir, 'agents');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).sort()
    .filter((name) => fs.existsSync(path.join(dir, name, KIT_FILE)))
    .map((name) => parseKit(fs.readFileSync(path.join(dir, name, KIT_FILE), 'utf8'), name, `agents/${name}/${KIT_FILE}`));
}

/** One kit by name, or not_found naming the kits there are. */
export function findKit(assetsDir: string, name: string): Kit {
  const kits = listKits(assetsDir);
  const kit = kits.find((k) => k.name === name);
  if (!kit) throw new AirlockError('not_found', `no kit ${name}`, `the kits are: ${kits.map((k) => k.name).join(', ') || '(none)'}`);
  return kit;
}
