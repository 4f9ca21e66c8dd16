// JSON-RPC 2.0 as MCP uses it: only what the broker needs to read, checked, never trusted.

export type JsonRpcId = string | number;

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id?: JsonRpcId;
  method: string;
  params?: Record<string, unknown>;
}

export interface JsonRpcResponse {
  jsonrpc: '2.0';
  id: JsonRpcId | null;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** JSON-RPC error codes the broker answers with. */
export const RPC = { parseError: -32700, invalidRequest: -32600, methodNotFound: -32601, invalidParams: -32602, internal: -32603, refused: -32001 } as const;

/** A request or notification from the agent; a string says why it is not one. */
export function readRequest(value: unknown): JsonRpcRequest | string {
  if (!isObject(value)) return 'send one JSON-RPC 2.0 object (batches are not relayed)';
  if (value.jsonrpc !== '2.0') return 'jsonrpc must be "2.0"';
  if (typeof value.method !== 'string' || value.method.length === 0 || value.method.length > 128) return 'method must be a string of 1-128 characters';
  if ('id' in value && !isId(value.id)) return 'id must be a string (at most 128 characters) or an integer';
  if (value.params !== undefined && !isObject(value.params)) return 'params must be an object';
  return value as unknown as JsonRpcRequest;
}

/** A response from the server to one of the broker's requests; undefined for anything else (its own requests, notifications). */
export function readResponse(value: unknown): JsonRpcResponse | undefined {
  if (!isObject(value) || value.jsonrpc !== '2.0' || 'method' in value || !isId(value.id)) return undefined;
  if ('error' in value) {
    const error = value.error;
    if (!isObject(error) || typeof error.code !== 'number' || typeof error.message !== 'string') return undefined;
  } else if (!('result' in value)) {
    return undefined;
  }
  return value as unknown as JsonRpcResponse;
}

export function rpcResult(id: JsonRpcId | null, result: unknown): JsonRpcResponse {
  return { jsonrpc: '2.0', id, result };
}

export function rpcError(id: JsonRpcId | null, code: number, message: string, data?: unknown): JsonRpcResponse {
  return { jsonrpc: '2.0', id, error: { code, message, ...(data !== undefined ? { data } : {}) } };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is JsonRpcId {
  return (typeof value === 'string' && value.length <= 128) || (typeof value === 'number' && Number.isSafeInteger(value));
}

/** Whether a JSON value nests at most `max` levels (checked iteratively: the value itself may be hostile). */
export function nestsWithin(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [item, level] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (level > max) return false;
    for (const child of Object.values(item)) stack.push([child, level + 1]);
  }
  return true;
}

/** JSON with object keys sorted, so the same value always reads the same (walk only a value whose depth is bounded). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
