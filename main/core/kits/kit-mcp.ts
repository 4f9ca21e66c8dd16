// A kit's tool told its MCP servers: every server of the run's `mcp:` list, and only those, at the
// broker's address (`http://airlock.internal/mcp/<name>`, reached through the sandbox's proxy).
// Each tool reads its MCP client configuration in its own documented format (kit.yaml `mcp:`):
// - claude: `--mcp-config <JSON>` (`{"mcpServers": {"<name>": {"type": "http", "url": …}}}`) with
//   `--strict-mcp-config`, so no server from a settings or `.mcp.json` file is used beside them;
// - codex: `-c mcp_servers.<name>.url="…"` overrides (its streamable-HTTP servers are a `url`);
// - gemini: `$HOME/.gemini/settings.json` (`mcpServers.<name>.httpUrl`, `mcp.allowed`), which a
//   start step writes from its first argument before it runs the tool (HOME is the task's tmpfs).
// Nothing here names a server's real address or credential: the tool knows only the broker's.
import { SANDBOX_API_HOST } from '../gateway/api-route.js';
import type { McpServerSpec } from '../mcp/manifest.js';

/** The MCP client configuration formats kits read (kit.yaml `mcp:`). */
export const KIT_MCP_FORMATS = ['claude', 'codex', 'gemini'] as const;
export type KitMcpFormat = (typeof KIT_MCP_FORMATS)[number];

/** What the run's command gains so the tool uses the servers. */
export interface KitMcpConfig {
  /** Put before the tool's own arguments (after the manifest's command). */
  args: string[];
  /** A start step the command is wrapped in (it ends by exec'ing the command): argv before it. */
  wrap?: string[];
}

/** The broker's address of a server, as the agent reaches it. */
export function brokerUrl(server: string): string {
  return `http://${SANDBOX_API_HOST}/mcp/${server}`;
}

/** The servers in the tool's own format. `servers` names are the manifest's (a-z, 0-9, -). */
export function kitMcpConfig(format: KitMcpFormat, servers: readonly Pick<McpServerSpec, 'name'>[]): KitMcpConfig {
  const names = servers.map((s) => s.name);
  if (format === 'claude') return { args: ['--mcp-config', claudeMcpConfig(names), '--strict-mcp-config'] };
  if (format === 'codex') return { args: names.flatMap((name) => ['-c', `mcp_servers.${name}.url=${JSON.stringify(brokerUrl(name))}`]) };
  return { args: [], wrap: [...GEMINI_START, geminiSettings(names)] };
}

/** Claude Code's `--mcp-config` document. */
export function claudeMcpConfig(names: readonly string[]): string {
  return JSON.stringify({ mcpServers: Object.fromEntries(names.map((name) => [name, { type: 'http', url: brokerUrl(name) }])) });
}

/** Gemini CLI's user settings: the servers (streamable HTTP is `httpUrl`), and only those allowed. */
export function geminiSettings(names: readonly string[]): string {
  return JSON.stringify({ mcpServers: Object.fromEntries(names.map((name) => [name, { httpUrl: brokerUrl(name) }])), mcp: { allowed: [...names] } });
}

// `sh -c SCRIPT airlock-mcp SETTINGS CMD...`: writes the settings (the tool's HOME is fresh in every
// task), then becomes the command.
const GEMINI_START = [
  'sh', '-c',
  'set -e; dir="${HOME:-/tmp}/.gemini"; mkdir -p "$dir"; printf \'%s\\n\' "$1" > "$dir/settings.json"; shift; exec "$@"',
  'airlock-mcp',
];
