import type { Duplex } from 'node:stream';
import type { AgentRef } from '../audit/events.js';
import { AirlockError } from '../errors.js';
import { BROWSER_PROXY_PORT, GATEWAY_PORT } from '../engine/task-sidecar.js';
import type { Gateway } from '../gateway/gateway.js';
import { buildPolicy } from '../gateway/policy.js';
import type { TaskCredentialsPort } from '../gateway/intercept.js';
import type { RelayPort } from '../engine/relay-mux.js';
import type { SandboxApiHandler, SpendPort } from '../gateway/task-state.js';
import type { Decoy } from '../gateway/decoys.js';
import type { NetworkSpec } from './network-spec.js';

export interface TaskNetwork {
  /** The sidecar relays the agent's connections to the gateway (allowlist and open networks). */
  relay: { browser: boolean; onConnection: (stream: Duplex, port: RelayPort) => void } | undefined;
  /** Proxy settings for the agent's environment. */
  env: Record<string, string>;
  /** Takes the task's policy out of the gateway. */
  close(): void;
}

/**
 * What a task's network mode needs from Airlock: nothing for `none` (the sidecar's namespace has
 * loopback only); for `allowlist` and `open`, the task's policy in the gateway, and the relay of
 * the sidecar carrying the agent's connections to it. The sandbox gets HTTP(S)_PROXY with its own
 * proxy credential, and NODE_USE_ENV_PROXY so Node's own fetch and http honour them.
 */
export function openTaskNetwork(options: {
  gateway: Gateway | undefined;
  task: string;
  agent: AgentRef;
  spec: NetworkSpec;
  onAlways?: (host: string) => void;
  credentials?: TaskCredentialsPort;
  sandboxApi?: SandboxApiHandler;
  decoys?: Decoy[];
  /** The task's model spend: metered and budgeted in intercepted traffic. */
  spend?: SpendPort;
  /** A display task: its browser gets a proxy port of its own, and page loads are reported. */
  browser?: { onNavigation: (url: string) => void };
}): TaskNetwork {
  const { spec, gateway, task } = options;
  if (spec.mode === 'none') return { relay: undefined, env: {}, close: () => undefined };
  if (!gateway) throw new AirlockError('internal', `network mode ${spec.mode} needs the egress gateway, which this process did not start`);
  const credential = gateway.addTask({
    task, agent: options.agent,
    policy: buildPolicy({ mode: spec.mode, allow: spec.allow, local: spec.local, onUnknownHost: spec.onUnknownHost, askTimeoutMs: spec.askTimeoutMs, rate: spec.rate }),
    ...(options.onAlways ? { onAlways: options.onAlways } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.sandboxApi ? { sandboxApi: options.sandboxApi } : {}),
    ...(options.decoys ? { decoys: options.decoys } : {}),
    ...(options.browser ? { onNavigation: options.browser.onNavigation } : {}),
    ...(options.spend ? { spend: options.spend } : {}),
  });
  const proxy = `http://${encodeURIComponent(credential.user)}:${encodeURIComponent(credential.password)}@127.0.0.1:${GATEWAY_PORT}`;
  // The agent's own loopback services are reached directly — unless a `local` rule names a loopback
  // address, which means the host's service: then loopback requests must go through the gateway.
  const loopbackRule = spec.local.some((rule) => /^(localhost|127\.[\d.]+|\[::1\]):/.test(rule));
  const noProxy = loopbackRule ? '' : 'localhost,127.0.0.1,::1';
  return {
    relay: { browser: options.browser !== undefined, onConnection: (stream, port) => gateway.acceptConnection(task, stream, { browser: port === 'browser' }) },
    env: {
      HTTP_PROXY: proxy, HTTPS_PROXY: proxy, http_proxy: proxy, https_proxy: proxy, NO_PROXY: noProxy, no_proxy: noProxy, NODE_USE_ENV_PROXY: '1',
      ...(options.browser ? { AIRLOCK_BROWSER_PROXY: `http://127.0.0.1:${BROWSER_PROXY_PORT}` } : {}),
    },
    close: () => gateway.removeTask(task),
  };
}
