import { createHash } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { StateFile, type StateFileFormat } from '../state-file.js';
import { canonicalJson } from './jsonrpc.js';

/** One tool as a server lists it: what the agent is told it does. */
export interface ToolDefinition {
  name: string;
  description?: unknown;
  inputSchema?: unknown;
}

const pinEntry = z.strictObject({ agentDigest: z.string(), server: z.string(), tools: z.record(z.string(), z.string()), pinnedAt: z.string() });
type PinEntry = z.infer<typeof pinEntry>;

const pinsFormat: StateFileFormat<PinEntry[]> = {
  holds: 'the MCP tool descriptions you have used',
  recover: 'nothing to restore: each tool is pinned again on its next use',
  version: 1,
  readers: { 1: z.strictObject({ v: z.literal(1), pins: z.array(pinEntry).max(10_000) }).transform((file) => file.pins) },
  empty: () => [],
  encode: (pins) => ({ pins }),
};

/** sha256 of what the agent is told about a tool (name, description, input schema), in a canonical form. */
export function toolDigest(tool: ToolDefinition): string {
  return `sha256:${createHash('sha256').update(canonicalJson({ name: tool.name, description: tool.description ?? null, inputSchema: tool.inputSchema ?? null })).digest('hex')}`;
}

/**
 * AIRLOCK_HOME/mcp-pins.json: each tool's digest as first used, per agent (manifest digest) and
 * server. A tool whose digest later differs was changed by its server after it was trusted (tool
 * poisoning): the broker refuses it until a person re-approves it, which pins the new digest.
 */
export class ToolPins {
  readonly #file: StateFile<PinEntry[]>;
  readonly #now: () => number;

  constructor(home: string, now: () => number = Date.now) {
    this.#file = new StateFile(path.join(home, 'mcp-pins.json'), pinsFormat);
    this.#now = now;
  }

  /**
   * Pins the tools not pinned yet; returns the names of those whose digest differs from their pin
   * (left as pinned).
   */
  check(agentDigest: string, server: string, tools: ToolDefinition[]): string[] {
    const known = this.#file.read().find((e) => e.agentDigest === agentDigest && e.server === server)?.tools ?? {};
    const fresh = tools.filter((tool) => known[tool.name] === undefined);
    if (fresh.length > 0) this.#pin(agentDigest, server, Object.fromEntries(fresh.map((tool) => [tool.name, toolDigest(tool)])), false);
    return tools.filter((tool) => known[tool.name] !== undefined && known[tool.name] !== toolDigest(tool)).map((tool) => tool.name);
  }

  /** A person re-approved a changed tool: its current digest becomes the pin. */
  repin(agentDigest: string, server: string, tool: ToolDefinition): void {
    this.#pin(agentDigest, server, { [tool.name]: toolDigest(tool) }, true);
  }

  /** Forgets the pins of an agent's server (or all its servers): each tool is pinned again on next use. */
  forget(agentDigest: string, server?: string): number {
    let removed = 0;
    this.#file.update((current) => current.filter((e) => {
      const match = e.agentDigest === agentDigest && (server === undefined || e.server === server);
      if (match) removed += 1;
      return !match;
    }));
    return removed;
  }

  #pin(agentDigest: string, server: string, tools: Record<string, string>, replace: boolean): void {
    this.#file.update((current) => {
      const entry = current.find((e) => e.agentDigest === agentDigest && e.server === server);
      const merged = replace ? { ...entry?.tools, ...tools } : { ...tools, ...entry?.tools };
      return [...current.filter((e) => e !== entry), { agentDigest, server, tools: merged, pinnedAt: new Date(this.#now()).toISOString() }];
    });
  }
}
