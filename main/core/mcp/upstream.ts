import type { JsonRpcResponse } from './jsonrpc.js';

/** A started MCP server as the broker uses it: requests and notifications, bounded by its transport. */
export interface McpUpstream {
  request(method: string, params: Record<string, unknown> | undefined): Promise<JsonRpcResponse>;
  notify(method: string, params?: Record<string, unknown>): void;
}

/** Starts a server of the task's manifest (a stdio server's sandbox: tasks/mcp-server-sandbox.ts); `onEnd` when it ends on its own. */
export type StartUpstream = (name: string, onEnd: (reason: string) => void) => Promise<{ upstream: McpUpstream; stop(): Promise<void> }>;

/** The MCP protocol version the broker speaks to servers, and offers agents. */
export const PROTOCOL_VERSION = '2025-06-18';
