// `POST http://airlock.internal/v1/access-requests`: the agent asks a person for a host (or a
// credential, or an MCP tool) with a reason, instead of trying a way around a refusal. The ask goes
// through the gateway's own machinery (gateway/approvals.ts: per-task limits, joining an ask already
// waiting, a refused host not asked again), so it floods nobody; the reason is the agent's text:
// capped and with every hidden character escaped before anything records or shows it.
import type { AccessAnswer } from '../gateway/admission.js';
import { CREDENTIAL_NAME } from '../credentials/store.js';
import { parseAuthority, type Target } from '../gateway/target.js';
import { visibleText } from '../text/visible.js';

export type { AccessAnswer } from '../gateway/admission.js';

/** The most of a reason that is kept, in characters (before escaping). */
export const MAX_REASON_CHARS = 500;
/** The longest `host[:port]` taken (a DNS name is at most 253 characters). */
const MAX_HOST_CHARS = 260;

/** Where an access request goes, for one task. Absent: that kind of request is not served (501). */
export interface AccessPorts {
  /** Asks a person for a host (the gateway's requestAccess, bound to the task). */
  host?: (target: Target, reason: string) => Promise<AccessAnswer>;
  /** Asks a person to lend a credential (tasks/credential-requests.ts): its own statuses (409 without a task CA). */
  credential?: (name: string, reason: string) => Promise<AccessReply>;
  /** Asks a person for an MCP tool (the MCP broker's askTool, when it is there). */
  askTool?: (server: string, tool: string, reason: string) => Promise<AccessAnswer>;
}

/** The answer to an access request; a lent credential's adds its placeholder, hosts and expiry (credential-requests.ts). */
export interface CredentialAnswer extends AccessAnswer {
  placeholder?: string;
  env?: null;
  hosts?: string[];
  expiresAt?: string;
}

export interface AccessReply {
  status: number;
  body: CredentialAnswer | { error: string };
}

const USAGE = 'send {"host": "api.example.test[:port]", "reason": "why the task needs it"} (or "credential": "<name>", or "mcp": "<server>/<tool>", with a "reason")';

/** The reason as it is recorded and shown: at most MAX_REASON_CHARS characters, hidden characters as visible escapes. */
export function recordedReason(reason: string): string {
  const chars = [...reason];
  const kept = chars.length > MAX_REASON_CHARS ? `${chars.slice(0, MAX_REASON_CHARS).join('')}…` : reason;
  return visibleText(kept);
}

/** Answers one access request: validates it, then asks through the port for its subject. */
export async function answerAccessRequest(body: unknown, ports: AccessPorts): Promise<AccessReply> {
  const refuse = (status: number, error: string): AccessReply => ({ status, body: { error } });
  if (!body || typeof body !== 'object' || Array.isArray(body)) return refuse(400, USAGE);
  const request = body as Record<string, unknown>;
  const subjects = ['host', 'credential', 'mcp'].filter((key) => request[key] !== undefined);
  if (subjects.length !== 1) return refuse(400, `name exactly one of host, credential, mcp: ${USAGE}`);
  if (typeof request.reason !== 'string' || request.reason.trim() === '') return refuse(400, `give a "reason": ${USAGE}`);
  const reason = recordedReason(request.reason);
  if (request.host !== undefined) {
    const target = typeof request.host === 'string' && request.host.length <= MAX_HOST_CHARS ? parseRequestedHost(request.host) : undefined;
    if (!target) return refuse(400, `"host" must be one host name or address, with an optional port: ${USAGE}`);
    if (!ports.host) return refuse(501, 'this task has no network to grant hosts on');
    return { status: 200, body: await ports.host(target, reason) };
  }
  if (request.credential !== undefined) {
    if (typeof request.credential !== 'string' || !CREDENTIAL_NAME.test(request.credential)) return refuse(400, `"credential" must be a credential's name (a-z, 0-9 and -, at most 64): ${USAGE}`);
    if (!ports.credential) return refuse(501, 'this task has no network to lend credentials on');
    return ports.credential(request.credential, reason);
  }
  // A server's name has no `/`; a tool's may (`fs/read`): the first `/` divides them.
  const tool = typeof request.mcp === 'string' ? /^([^/]{1,100})\/(.{1,200})$/.exec(request.mcp) : null;
  if (!tool) return refuse(400, `"mcp" must be "<server>/<tool>": ${USAGE}`);
  if (!ports.askTool) return refuse(501, 'access requests for MCP tools are not served yet: this Airlock has no MCP broker');
  return { status: 200, body: await ports.askTool(tool[1]!, tool[2]!, reason) };
}

/** `host` or `host:port` (an IPv6 address in brackets); a host alone means its web ports (80 and 443). */
function parseRequestedHost(text: string): Target | undefined {
  return parseAuthority(/:\d{1,5}$/.test(text) && !/^[^[].*:.*:/.test(text) ? text : `${text}:443`);
}
