import { z } from 'zod';

/** What a person decided for a tool: used as is, asked about at each call, or never passed on. */
export const toolRule = z.enum(['allow', 'ask', 'deny']);
export type ToolRule = z.infer<typeof toolRule>;

const serverName = z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/, {
  error: 'must be 1-32 characters of a-z, 0-9 and -, starting and ending with a letter or digit',
});
/** A tool name as MCP servers spell them (letters, digits, _ - . /). */
const toolName = z.string().regex(/^[A-Za-z0-9_.\-/]{1,128}$/, { error: 'must be a tool name of at most 128 letters, digits, _ - . or /' });
const containerPath = z.string().regex(/^\/(?!.*(?:^|\/)\.\.?(?:\/|$)).*$/, { error: 'must be an absolute container path without . or .. segments' });

/**
 * One `mcp:` entry of a manifest: a stdio server Airlock starts in a sandbox of its own
 * (`command:`), or a remote streamable-HTTP server (`url:`). The agent reaches either only at
 * `http://airlock.internal/mcp/<name>`, through the broker (main/core/mcp/broker.ts).
 */
export const mcpServerSchema = z.strictObject({
  name: serverName,
  command: z.array(z.string()).min(1).optional(),
  image: z.string().min(1).optional(),
  inputs: z.array(z.strictObject({ from: z.string().min(1), to: containerPath })).default([]),
  /** The server's OWN egress (a task's network shape); default none. */
  network: z.strictObject({
    mode: z.enum(['none', 'allowlist']).default('none'),
    allow: z.array(z.string()).default([]),
  }).default({ mode: 'none', allow: [] }),
  url: z.url({ protocol: /^https?$/ }).optional(),
  credential: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/).optional(),
  tools: z.record(toolName, toolRule).default({}),
  default: toolRule.default('deny'),
}).refine((server) => (server.command === undefined) !== (server.url === undefined), {
  error: 'an mcp server needs exactly one of command: (a stdio server Airlock runs) or url: (a remote server)',
});

export const mcpSchema = z.array(mcpServerSchema).max(16).refine((servers) => new Set(servers.map((s) => s.name)).size === servers.length, {
  error: 'each mcp server needs a name of its own',
});

export type McpServerSpec = z.infer<typeof mcpServerSchema>;

/** `loops:` (shared with spend): the same call more than `maxRepeats` times is a violation. */
/** How many identical tool calls are fine when the manifest does not say. */
export const DEFAULT_MAX_REPEATS = 10;
