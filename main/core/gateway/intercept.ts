import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { SecretPlacement } from '../credentials/injection.js';
import type { WatchedPlaceholder } from '../credentials/placeholder.js';
import type { Dialer } from './dialing.js';

/** What the gateway needs from a task's credentials (main/core/credentials implements it). */
export interface TaskCredentialsPort {
  ca: { contextFor(host: string): Promise<tls.SecureContext> } | undefined;
  /** True for hosts the task holds an active proxy grant for: only their TLS is intercepted. */
  intercepts(host: string, port: number): boolean;
  /** Checks a placeholder for a request (`path`: normalised, without the query) and counts a use. */
  authorize(request: { token: string; host: string; port: number; method: string; path: string }): Promise<CredentialAuthorization>;
  /** Secrets that must never come back to the sandbox, and the placeholders to look for where they should not go. */
  watched(): { secrets: { value: string; grant: { id: string; credential: string } }[]; placeholders: WatchedPlaceholder[] };
}

export type CredentialAuthorization =
  | { ok: true; grant: { id: string; credential: string }; place: SecretPlacement }
  | { ok: false; status: 401 | 403; kind: 'cred.expired' | 'cred.misuse' | 'cred.denied'; reason: string; grant?: { id: string; credential: string } };

/** TLS to the real host: verified against the gateway's upstream trust (upstream-trust.ts). */
export class UpstreamTlsAgent extends https.Agent {
  readonly #dial: Dialer;
  readonly #trust: tls.SecureContext;

  constructor(dial: Dialer, trust: tls.SecureContext) {
    super({ keepAlive: true, maxSockets: 32, maxFreeSockets: 8, timeout: 60_000 });
    this.#dial = dial;
    this.#trust = trust;
  }

  override createConnection(options: net.NetConnectOpts & { servername?: string }, callback?: (error: Error | null, socket: Duplex) => void): Duplex | undefined {
    const { host, port, servername } = options as { host: string; port: number; servername: string };
    this.#dial(host, Number(port)).then((raw) => {
      const secure = tls.connect({ socket: raw, servername, secureContext: this.#trust, ALPNProtocols: ['http/1.1'], rejectUnauthorized: true });
      secure.once('secureConnect', () => callback?.(null, secure));
      secure.once('error', (error) => callback?.(error, undefined as unknown as Duplex));
    }, (error: Error) => callback?.(error, undefined as unknown as Duplex));
    return undefined;
  }
}

/** Terminates the sandbox's TLS to an intercepted host with a leaf certificate from the task's CA. */
export function terminateTls(client: Duplex, context: tls.SecureContext): tls.TLSSocket {
  return new tls.TLSSocket(client as net.Socket, { isServer: true, secureContext: context, ALPNProtocols: ['http/1.1'] });
}

/** Hop-by-hop and proxy headers never go upstream. */
// (Expect too: the gateway has answered 100-continue itself, and refuses any other expectation.)
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authorization', 'proxy-authenticate', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect']);

export function forwardHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const connectionListed = String(headers.connection ?? '').toLowerCase().split(',').map((h) => h.trim());
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || connectionListed.includes(name)) continue;
    out[name] = value;
  }
  return out;
}
