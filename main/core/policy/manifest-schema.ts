import { z } from 'zod';
import { parseHostPattern } from '../host-pattern.js';
import { isRegistry, MAX_REGISTRIES } from './registries.js';
import { parseDuration, parseSize } from './units.js';
import { mcpSchema } from '../mcp/manifest.js';

export const DEFAULT_IMAGE = 'airlock/agent-base:1';
/** The image of tasks with `display:` unless the manifest names one (it must have airlock-desktop). */
export const DEFAULT_DESKTOP_IMAGE = 'airlock/agent-desktop:1';

const duration = z.string().refine((s) => parseDuration(s) !== undefined, {
  error: 'must be a duration such as 30s, 10m or 1h',
});
const size = z.union([z.string(), z.number()]).refine((v) => parseSize(v) !== undefined, {
  error: 'must be a size such as 512m, 1g or 50MB',
});
const absolutePath = z.string().regex(/^\/(?!.*(?:^|\/)\.\.?(?:\/|$)).*$/, {
  error: 'must be an absolute container path without . or .. segments, such as /workspace/in',
});
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be a variable name such as API_TOKEN' });
export const agentName = z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, {
  error: 'must be 1-64 characters of a-z, 0-9 and -, starting and ending with a letter or digit',
});
/** `host`, `*.domain`, either with an optional `:port` (host-pattern.ts reads it, as everywhere). Matched before any DNS lookup. */
const hostPattern = z.string().refine((text) => parseHostPattern(text) !== undefined, {
  error: 'must be a host name, optionally *.domain and :port, such as api.vendor.test or *.erp.test:8443',
});
/** Exactly one host and port: `127.0.0.1:8080`, `db.internal:5432`, `[::1]:8080`. */
const localRule = z.string().refine((text) => {
  const pattern = parseHostPattern(text);
  return pattern !== undefined && !pattern.wildcard && pattern.port !== undefined;
}, { error: 'must be host:port, such as 127.0.0.1:8080' });
/** A package registry by name (registries.ts): `npm`, `pypi`, or a company's `npm=https://…` / `pypi=https://…`. */
const registry = z.string().max(2100).refine(isRegistry, {
  error: 'must be npm, pypi, or a company registry as npm=https://npm.corp.example or pypi=https://pypi.corp.example/simple',
});

export const manifestSchema = z.strictObject({
  name: agentName,
  description: z.string().max(1000).optional(),
  /** Default: agent-base, or agent-desktop for a task with `display:`. */
  image: z.string().min(1).optional(),
  command: z.array(z.string()).min(1, { error: 'must list the program and its arguments, e.g. ["node", "/workspace/agent.js"]' }).optional(),
  workdir: absolutePath.default('/workspace'),
  env: z.record(envName, z.string()).default({}),
  inputs: z.array(z.strictObject({ from: z.string().min(1), to: absolutePath })).default([]),
  outputs: z.array(absolutePath).default([]),
  /** This agent takes a project (a working copy of the folder the run names, `--project`), at `to`. */
  project: z.strictObject({ to: absolutePath.optional() }).optional(),
  resources: z.strictObject({
    cpus: z.number().positive().max(256).optional(),
    memory: size.optional(),
    pids: z.number().int().min(16).max(32_768).optional(),
    /** The workspace's size: a tmpfs, so writing past it fails with ENOSPC inside the sandbox. */
    disk: size.optional(),
  }).default({}),
  timeout: duration.optional(),
  network: z.strictObject({
    mode: z.enum(['none', 'allowlist', 'open']).default('none'),
    allow: z.array(hostPattern).default([]),
    local: z.array(localRule).default([]),
    /** Package registries the agent installs from at run time: their hosts join the allowlist. */
    registries: z.array(registry).max(MAX_REGISTRIES).default([]),
    onUnknownHost: z.enum(['deny', 'ask']).default('deny'),
    /** How long a request to an unknown host waits for a person before it is denied. */
    askTimeout: duration.optional(),
    rate: z.strictObject({ requestsPerMinute: z.number().int().positive().optional(), bytes: size.optional() }).optional(),
  }).default({ mode: 'none', allow: [], local: [], registries: [], onUnknownHost: 'deny' }),
  credentials: z.array(z.strictObject({
    name: agentName,
    ttl: duration.optional(),
    delivery: z.enum(['proxy', 'env']).default('proxy'),
    env: envName,
    /** Optional limits on what the grant may be used for (proxy delivery). */
    methods: z.array(z.string().regex(/^[A-Za-z]+$/, { error: 'must be an HTTP method such as GET' })).min(1).optional(),
    pathPrefix: z.string().startsWith('/', { error: 'must start with /' }).optional(),
    uses: z.number().int().positive().optional(),
  })).default([]),
  delegate: z.strictObject({
    allow: z.array(agentName).default([]),
    maxDepth: z.number().int().min(0).max(10).optional(),
    maxTasks: z.number().int().min(0).max(1000).optional(),
  }).optional(),
  onViolation: z.enum(['log', 'stop', 'freeze']).default('log'),
  /** Fake secrets planted in the sandbox: using one anywhere the gateway sees is a violation. */
  decoys: z.strictObject({
    env: z.array(envName).default([]),
    files: z.array(absolutePath).default([]),
  }).optional(),
  /** A virtual screen with Chromium inside the sandbox, watched live from the app, with screenshots in the log. */
  display: z.strictObject({
    width: z.number().int().min(320, { error: 'must be at least 320 pixels' }).max(3840, { error: 'must be at most 3840 pixels' }),
    height: z.number().int().min(240, { error: 'must be at least 240 pixels' }).max(2160, { error: 'must be at most 2160 pixels' }),
    /** A screenshot this often while the screen changes; `off` (or `0s`) keeps only page loads and the first and last screens. */
    screenshotEvery: z.union([z.enum(['off', '0s']), duration]).optional(),
  }).optional(),
  /** What the task (and every task it starts, out of the same budget) may spend on model calls (main/core/spend). */
  budget: z.strictObject({
    tokens: z.number().int().positive().max(1e12).optional(),
    usd: z.number().positive().max(1e6).optional(),
    requests: z.number().int().positive().max(1e9).optional(),
  }).optional(),
  /** The same model request (or MCP tool call) sent more than maxRepeats times on the chain is a violation. */
  loops: z.strictObject({ maxRepeats: z.number().int().min(1).max(100_000) }).optional(),
  /** Refused requests a task may make before that is a violation too. */
  maxRefusedRequests: z.number().int().min(0).max(100_000).default(20),
  /** MCP servers the agent may use, through Airlock only, each tool under a rule (main/core/mcp). */
  mcp: mcpSchema.default([]),
  /**
   * A built-in kit this manifest runs (`kit: claude-code`): the kit's own manifest, with this one's
   * name, description, MCP servers, budget, loops and onViolation (main/core/kits/kit-manifest.ts).
   */
  kit: agentName.optional(),
});

/** The only keys a manifest that names a `kit:` may have: everything else is the kit's. */
export const KIT_REFERENCE_KEYS: readonly string[] = ['name', 'description', 'kit', 'mcp', 'budget', 'loops', 'onViolation'];

export type Manifest = z.infer<typeof manifestSchema>;
