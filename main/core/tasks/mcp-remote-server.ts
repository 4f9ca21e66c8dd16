import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { duplexPair, type Duplex } from 'node:stream';
import tls from 'node:tls';
import type { EventBus } from '../audit/bus.js';
import type { AgentRef } from '../audit/events.js';
import type { Clock } from '../clock.js';
import type { CredentialStore } from '../credentials/store.js';
import type { Gateway } from '../gateway/gateway.js';
import type { TaskCredentialsPort } from '../gateway/intercept.js';
import { buildPolicy } from '../gateway/policy.js';
import type { McpServerSpec } from '../mcp/manifest.js';
import { RemoteChannel } from '../mcp/remote-channel.js';
import type { StdioBounds } from '../mcp/stdio-channel.js';
import { TaskCredentials, type GrantRequest } from './grants.js';
import { newTaskId } from './ids.js';

/** The grant's name inside Airlock: the placeholder never leaves this process. */
const CREDENTIAL_SLOT = 'AIRLOCK_MCP_CREDENTIAL';
/** A header the gateway finds the placeholder in, removes, and replaces with the secret as the credential's injection says. */
const PLACEHOLDER_HEADER = 'X-Airlock-Credential';

export interface RunningRemoteServer {
  task: string;
  channel: RemoteChannel;
  stop(): Promise<void>;
}

/**
 * A remote (`url:`) MCP server for a task, reached as an agent's traffic is: through the gateway,
 * under a gateway task of its own whose allowlist is the server's host and port alone (the agent's
 * own allowlist is not widened), TLS opened by the gateway (the server's certificate verified as
 * any upstream's) with the server task's own CA. The `credential:` is a proxy grant of that task,
 * for the server's host only; its placeholder stays in this process and the gateway swaps the
 * secret in, so the secret never reaches the agent's sandbox. Recorded as a task of its own
 * (`task.created` with `mcp: { server, for }`, its `net.*` and `cred.*` events under it).
 */
export async function startRemoteServer(deps: { bus: EventBus; clock: Clock; gateway: Gateway; credentials: CredentialStore | undefined; owner: string }, options: {
  parent: { task: string; agent: AgentRef; timeoutMs: number };
  server: McpServerSpec;
  bounds?: Partial<StdioBounds>;
  onEnd: (reason: string) => void;
}): Promise<RunningRemoteServer> {
  const { bus, clock, gateway } = deps;
  const { server, parent } = options;
  const endpoint = remoteEndpoint(server.url!);
  const task = newTaskId();
  const agent: AgentRef = { name: `mcp-${server.name}`, digest: parent.agent.digest };
  const emit = (kind: 'task.created' | 'task.started' | 'task.destroyed', data: Record<string, unknown>) => bus.emit({ task, agent, actor: 'airlock', kind, data });
  const policy = buildPolicy({ mode: 'allowlist', allow: [endpoint.authority], local: [], onUnknownHost: 'deny' });
  emit('task.created', {
    image: null, command: null, url: endpoint.shown, network: 'allowlist', networkPolicy: { mode: 'allowlist', allow: [endpoint.authority] }, timeoutMs: parent.timeoutMs,
    owner: deps.owner, objects: { containers: [], volumes: [] }, mcp: { server: server.name, for: parent.task },
  });
  const requests: GrantRequest[] = [];
  if (server.credential) {
    if (!deps.credentials) throw new Error(`credential ${server.credential}: this process has no credential store`);
    const info = deps.credentials.get(server.credential);
    // For the server's host only (refused when the credential is not for it), never past the task's end.
    requests.push({ credential: info.name, ttlMs: Math.min(info.maxTtlMs, parent.timeoutMs), delivery: 'proxy', env: CREDENTIAL_SLOT, hosts: [endpoint.authority] });
  }
  const credentials = await TaskCredentials.open({ task, agent, requests, store: deps.credentials, bus, clock, caLifetimeMs: parent.timeoutMs });
  const placeholder = (await credentials.placeholderEnv())[CREDENTIAL_SLOT];
  // Every connection to the server is opened (and its TLS verified) by the gateway, not only credentialed ones.
  const port: TaskCredentialsPort = {
    ca: credentials.ca,
    intercepts: (host, at) => (host === endpoint.host && at === endpoint.port) || credentials.intercepts(host, at),
    authorize: (request) => credentials.authorize(request),
    watched: () => credentials.watched(),
  };
  const proxy = gateway.addTask({ task, agent, policy, credentials: port });
  const tunnels = new TunnelAgent((stream) => gateway.acceptConnection(task, stream), `Basic ${Buffer.from(`${proxy.user}:${proxy.password}`).toString('base64')}`, credentials.ca!.certificatePem);
  const channel = new RemoteChannel({
    clock, ...(options.bounds ? { bounds: options.bounds } : {}),
    onEnd: (reason) => {
      options.onEnd(reason);
      void stop();
    },
    open: (headers) => https.request({
      host: endpoint.host, port: endpoint.port, servername: endpoint.host, method: 'POST', path: endpoint.path, agent: tunnels, setHost: false,
      headers: { ...headers, Host: endpoint.authority, ...(placeholder ? { [PLACEHOLDER_HEADER]: placeholder } : {}) },
    }),
  });
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= Promise.resolve().then(() => {
    channel.end('the task it served ended');
    tunnels.destroy();
    gateway.removeTask(task);
    credentials.revokeAll();
    emit('task.destroyed', { removed: { containers: 0, volumes: 0 } });
    bus.release(task);
  }));
  emit('task.started', { url: endpoint.shown, timeoutMs: parent.timeoutMs });
  return { task, channel, stop };
}

/** The parts of a remote server's URL Airlock uses; refused unless https without user:password. */
export function remoteEndpoint(url: string): { host: string; port: number; authority: string; path: string; shown: string } {
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:') throw new Error('a remote MCP server must be https:// (Airlock verifies its certificate, and may lend it a credential)');
  if (parsed.username || parsed.password) throw new Error('a remote MCP server\'s URL may not hold a user or password: name a stored credential in credential:');
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const port = parsed.port ? Number(parsed.port) : 443;
  const authority = port === 443 ? parsed.hostname : `${parsed.hostname}:${port}`;
  // The query may hold a token: events show the origin and path only.
  return { host, port, authority, path: `${parsed.pathname}${parsed.search}`, shown: `https://${parsed.host}${parsed.pathname}` };
}

/**
 * Opens each connection as a sandbox's is: an in-process stream handed to the gateway as the
 * server task's connection, a CONNECT with its proxy credential, then TLS to the gateway, which
 * presents a certificate of the server task's own CA (trusted here, and nowhere else).
 */
class TunnelAgent extends https.Agent {
  readonly #accept: (stream: Duplex) => void;
  readonly #authorization: string;
  readonly #ca: string;

  constructor(accept: (stream: Duplex) => void, authorization: string, ca: string) {
    super({ keepAlive: true, maxSockets: 4, maxFreeSockets: 2 });
    this.#accept = accept;
    this.#authorization = authorization;
    this.#ca = ca;
  }

  override createConnection(options: net.NetConnectOpts & { servername?: string }, callback?: (error: Error | null, socket: Duplex) => void): Duplex | undefined {
    const { host, port, servername } = options as { host: string; port: number; servername: string };
    const [ours, theirs] = duplexPair();
    this.#accept(theirs);
    const fail = (error: Error) => callback?.(error, undefined as unknown as Duplex);
    const connect = http.request({ createConnection: () => ours as unknown as net.Socket, method: 'CONNECT', path: `${host.includes(':') ? `[${host}]` : host}:${port}`, headers: { 'Proxy-Authorization': this.#authorization } });
    connect.once('error', fail);
    connect.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        return fail(new Error(`the gateway refused the connection (HTTP ${res.statusCode})`));
      }
      const secure = tls.connect({ socket, servername, ca: this.#ca, ALPNProtocols: ['http/1.1'], rejectUnauthorized: true });
      secure.once('secureConnect', () => callback?.(null, secure));
      secure.once('error', fail);
    });
    connect.end();
    return undefined;
  }
}
