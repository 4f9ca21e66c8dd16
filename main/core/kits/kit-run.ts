// A run of a kit: its manifest as the run needs it. Without `--endpoint` the manifest is the
// shipped one (the provider's hosts); with one, the network becomes exactly one `local` rule for
// the endpoint's host and port (nothing else: the provider's hosts go, unknown hosts are denied),
// the tool is told the URL, and the credential's grant is for that host only, which the stored
// credential must cover. The image is the kit's at the version this user built last.
import { AirlockError } from '../errors.js';
import { hostPatternMatches, HTTPS_PORTS, parseHostPattern } from '../host-pattern.js';
import { presetAddCommand } from '../credentials/presets.js';
import type { LoadedManifest } from '../policy/manifest.js';
import type { Manifest } from '../policy/manifest-schema.js';
import { parseEndpoint, type Endpoint } from './endpoint.js';
import { kitImage, type Kit } from './kit.js';
import { kitMcpConfig } from './kit-mcp.js';

export interface KitRun {
  loaded: LoadedManifest;
  image: string;
  /** Set with `--endpoint`: the kit credential's grant covers only this host. */
  grantHosts?: string[];
  endpoint: string;
}

/** The stored credential's hosts, or undefined when it is not stored. */
export type CredentialHosts = (name: string) => string[] | undefined;

/** The kit's manifest for this run; refuses a missing credential, or one that does not cover the endpoint. */
export function applyKit(loaded: LoadedManifest, kit: Kit, options: { endpoint?: string | undefined; version: string; credentialHosts: CredentialHosts; netOverride: boolean }): KitRun {
  const endpoint = options.endpoint === undefined ? undefined : parseEndpoint(options.endpoint);
  if (endpoint && options.netOverride) {
    throw new AirlockError('bad_argument', '--endpoint sets the network of the run (exactly the endpoint\'s host and port), so --net cannot be given with it', 'leave out --net');
  }
  const hosts = options.credentialHosts(kit.credential);
  if (hosts === undefined) {
    throw new AirlockError('credential_missing', `kit ${kit.name} needs the credential '${kit.credential}'`, `add it: ${presetAddCommand(kit.provider, kit.credential)}  (the key on stdin or at the prompt)`);
  }
  if (endpoint) requireCovered(kit, endpoint, hosts);
  const url = endpoint ? `${endpoint.url}${endpoint.hasPath ? '' : kit.endpoint.path ?? ''}` : kit.endpoint.default;
  const manifest = withMcpClient(pointedAt(loaded.manifest, kit, url, endpoint), kit);
  return {
    loaded: { ...loaded, manifest },
    image: kitImage(kit.name, options.version),
    endpoint: url,
    ...(endpoint ? { grantHosts: [endpoint.grantHost] } : {}),
  };
}

function requireCovered(kit: Kit, endpoint: Endpoint, hosts: string[]): void {
  const covered = hosts.some((text) => {
    const pattern = parseHostPattern(text);
    return pattern !== undefined && hostPatternMatches(pattern, { ...endpoint.host, port: endpoint.port }, HTTPS_PORTS);
  });
  if (covered) return;
  throw new AirlockError('policy_refused', `--endpoint: the credential '${kit.credential}' is not for ${endpoint.grantHost} (its hosts: ${hosts.join(', ')}), so it would not be lent there`,
    `add the host to it: ${presetAddCommand(kit.provider, kit.credential)} --host ${endpoint.grantHost}`);
}

/** The manifest with the tool told `url`; with an endpoint, its network is that one rule. */
function pointedAt(manifest: Manifest, kit: Kit, url: string, endpoint: Endpoint | undefined): Manifest {
  const env = kit.endpoint.env ? { ...manifest.env, [kit.endpoint.env]: url } : manifest.env;
  const endpointArgs = (kit.endpoint.args ?? []).map((arg) => arg.replaceAll('{url}', url));
  const command = endpointArgs.length > 0 ? [...(manifest.command ?? [kit.bin]), ...endpointArgs] : manifest.command;
  const network: Manifest['network'] = endpoint
    ? { ...manifest.network, mode: 'allowlist', allow: [], local: [endpoint.localRule], onUnknownHost: 'deny' }
    : manifest.network;
  return { ...manifest, env, network, ...(command ? { command } : {}) };
}

/** The manifest with the tool told the run's MCP servers (the broker's addresses), in its own format. */
function withMcpClient(manifest: Manifest, kit: Kit): Manifest {
  if (manifest.mcp.length === 0) return manifest;
  if (!kit.mcp) throw new AirlockError('bad_manifest', `kit ${kit.name} cannot be given MCP servers`, 'remove mcp:');
  const config = kitMcpConfig(kit.mcp, manifest.mcp);
  const command = [...(config.wrap ?? []), ...(manifest.command ?? [kit.bin]), ...config.args];
  return { ...manifest, command };
}
