import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { EventBus } from '../audit/bus.js';
import type { AgentRef, Decision } from '../audit/events.js';
import type { Clock } from '../clock.js';
import type { TaskCredentialsPort, UpstreamTlsAgent } from './intercept.js';
import type { TaskLimits } from './limits.js';
import type { NetworkPolicy } from './policy.js';
import type { HostRule } from './rules.js';
import type { Target } from './target.js';
import type { Decoy } from './decoys.js';
import type { TaskWatch } from './watch-lists.js';

/** What the gateway holds for one task while it runs. */
export interface GatewayTask {
  task: string;
  agentRef: AgentRef;
  policy: NetworkPolicy;
  token: Buffer;
  approved: HostRule[];
  /** Hosts (exact rules: `x.test` = its web ports) a person allowed once on an access request: the next request or tunnel there goes through, once. */
  allowedOnce: Set<string>;
  limits: TaskLimits;
  /** Keeps plain-HTTP connections to checked addresses open for the task's next requests. */
  agent: http.Agent;
  /** The same for verified TLS to intercepted hosts. */
  tlsAgent: UpstreamTlsAgent;
  /** Called when a person answers "always": the caller confirms and updates the manifest. */
  onAlways?: (host: string) => void;
  /** The task's grants: hosts they cover are intercepted and the placeholder swapped for the secret. */
  credentials?: TaskCredentialsPort;
  /** Requests to `airlock.internal`: Airlock's own API for the sandbox (delegation, actions). */
  sandboxApi?: SandboxApiHandler;
  /** What must not go out (decoys, placeholders where their grant does not cover) and never come back (secrets). */
  watch: TaskWatch;
  /** A display task: its browser loaded a page (the screen is captured). */
  onNavigation?: (url: string) => void;
  /** Model API calls in intercepted traffic: metered, and refused once a budget is spent (main/core/spend). */
  spend?: SpendPort;
}

/** What the gateway asks of the task's spend (main/core/spend/task-spend.ts implements it). */
export interface SpendPort {
  /** A request about to go upstream over an intercepted connection: not a model call (undefined), refused, or metered. */
  admit(request: { host: string; port: number; method: string; path: string }): undefined | { refused: SpendRefusal } | { meter: ExchangeMeter };
}

export interface SpendRefusal {
  status: number;
  /** `budget.tokens`, `budget.usd` or `budget.requests`. */
  rule: string;
  reason: string;
  /** The JSON body the agent reads. */
  body: string;
}

/** Watches one exchange as it is relayed; never changes it. */
export interface ExchangeMeter {
  requestBody(chunk: Buffer): void;
  response(status: number, contentType: string | undefined): void;
  responseBody(chunk: Buffer): void;
  /** The exchange is over, however it ended (called once). */
  done(): void;
}

/** Airlock's own API for the sandbox (main/core/tasks/sandbox-api.ts); the gateway reads the body for it, bounded. */
export interface SandboxApiHandler {
  /** The largest body a call may carry, in bytes, decided from its method and path before any is read. */
  maxBody(method: string, path: string): number;
  handle(call: { method: string; path: string; headers?: http.IncomingHttpHeaders; body: Buffer }, res: http.ServerResponse): Promise<void>;
}

/** Where events put a request the gateway could not read far enough to know its target. */
export const GATEWAY_TARGET: Target = { host: 'airlock-gateway', port: 3128, kind: 'name' };

export type Admission =
  | { ok: true; address: string; decision: Decision }
  | { ok: false; status: number; reason: string; decision: Decision };

/** Every event the gateway records: one place, so each kind has one shape. */
export class GatewayEvents {
  readonly #bus: EventBus;
  readonly #clock: Clock;

  constructor(bus: EventBus, clock: Clock) {
    this.#bus = bus;
    this.#clock = clock;
  }

  get bus(): EventBus {
    return this.#bus;
  }

  countBytes(network: GatewayTask, count: number, sockets: Duplex[]): void {
    const broken = network.limits.addBytes(count);
    if (!broken) return;
    for (const socket of sockets) socket.destroy();
    this.violation(network, broken, undefined, undefined, undefined);
  }

  violation(network: GatewayTask, rule: string, target: Target | undefined, method: string | undefined, path: string | undefined): void {
    this.#bus.emit({
      task: network.task, agent: network.agentRef, actor: 'airlock', kind: 'policy.violation',
      decision: { allow: false, rule: rule.split(':')[0]!, by: 'policy' },
      data: { rule: rule.split(':')[0], reason: rule, ...(target ? { host: target.host, port: target.port } : {}), ...(method ? { method } : {}), ...(path ? { path } : {}) },
    });
  }

  refuse(network: GatewayTask, target: Target, method: string, path: string | undefined, admission: Extract<Admission, { ok: false }>, started: number): void {
    this.#bus.emit({
      task: network.task, agent: network.agentRef, actor: 'airlock', kind: 'net.denied', decision: admission.decision,
      data: { method, host: target.host, port: target.port, ...(path !== undefined ? { path } : {}), status: admission.status, reason: admission.reason },
    });
    this.requestEvent(network, target, method, path, admission.status, 0, 0, started, admission.decision);
  }

  requestEvent(network: GatewayTask, target: Target, method: string, path: string | undefined, status: number, bytesUp: number, bytesDown: number, started: number, decision: Decision, extra: Record<string, unknown> = {}, identity?: { grant: string; credential: string }): void {
    this.#bus.emit({
      task: network.task, agent: network.agentRef, actor: 'agent', kind: 'net.request', decision, ...(identity ? { identity } : {}),
      data: { method, host: target.host, port: target.port, ...(path !== undefined ? { path } : {}), status, bytesUp, bytesDown, durationMs: this.#clock.now() - started, ...extra },
    });
  }

  credentialEvent(network: GatewayTask, kind: 'cred.used' | 'cred.misuse' | 'cred.denied' | 'cred.expired', grant: { id: string; credential: string } | undefined, data: Record<string, unknown>): void {
    this.#bus.emit({
      task: network.task, agent: network.agentRef, actor: kind === 'cred.used' ? 'agent' : 'airlock', kind, data,
      ...(grant ? { identity: { grant: grant.id, credential: grant.credential } } : {}),
      ...(kind === 'cred.used' ? {} : { decision: { allow: false, rule: `credential:${kind.slice(5)}`, by: 'policy' as const } }),
    });
  }

  /**
   * The upstream's response carried one of the task's secrets (as is or encoded): it was replaced
   * before the sandbox could read it. Recorded as misuse: the sandbox made the upstream echo it.
   */
  reflected(network: GatewayTask, target: Target, method: string, path: string | undefined, secret: { grant: string; credential: string }, where: string, form: string): void {
    this.credentialEvent(network, 'cred.misuse', { id: secret.grant, credential: secret.credential }, {
      method, host: target.host, port: target.port, ...(path !== undefined ? { path } : {}), reflected: true, where, form,
      reason: `the response from ${target.host} carried the secret of ${secret.credential} (${form}) in ${where}; it was replaced before reaching the sandbox`,
    });
  }

  /** A decoy went out: a violation, whatever else happens to the request. */
  decoyTouched(network: GatewayTask, decoy: Decoy, target: Target, method: string, path: string | undefined): void {
    this.#bus.emit({
      task: network.task, agent: network.agentRef, actor: 'airlock', kind: 'policy.violation',
      decision: { allow: false, rule: 'decoy', by: 'policy' },
      data: { rule: 'decoy', reason: `the decoy ${decoy.label} was sent to ${target.host}:${target.port}`, method, host: target.host, port: target.port, ...(path !== undefined ? { path } : {}) },
    });
  }
}
