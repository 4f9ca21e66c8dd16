import type { AgentRef } from '../audit/events.js';
import { AirlockError } from '../errors.js';
import { isNotFound, type Engine } from '../engine/engine.js';
import { BROWSER_PROXY_PORT, GATEWAY_PORT, GatewayEndpoint } from '../engine/gateway-endpoint.js';
import type { SandboxPlan } from '../engine/hardening.js';
import { BASE_IMAGE } from '../engine/images.js';
import type { Gateway } from '../gateway/gateway.js';
import { buildPolicy } from '../gateway/policy.js';
import type { TaskCredentialsPort } from '../gateway/intercept.js';
import type { SandboxApiHandler } from '../gateway/task-state.js';
import type { Decoy } from '../gateway/decoys.js';
import type { NetworkSpec } from './network-spec.js';

export interface TaskNetwork {
  /** How the agent's container is networked. */
  plan: SandboxPlan['network'];
  /** Proxy settings for the agent's environment. */
  env: Record<string, string>;
  /** Removes the gateway endpoint and the task's policy; returns the containers removed. */
  close(): Promise<number>;
  /** Freezing a task freezes its gateway endpoint too. */
  pause(): Promise<void>;
  unpause(): Promise<void>;
}

/**
 * Sets up what a task's network mode needs: nothing for `none`; for `allowlist` and `open`, the
 * task's policy in the gateway and its gateway endpoint, whose loopback-only network namespace the
 * agent joins. The sandbox gets HTTP(S)_PROXY with its own proxy credential, and
 * NODE_USE_ENV_PROXY so Node's own fetch and http honour them.
 */
export async function openTaskNetwork(options: {
  engine: Engine;
  gateway: Gateway | undefined;
  assetsDir: string | undefined;
  task: string;
  agent: AgentRef;
  spec: NetworkSpec;
  labels: Record<string, string>;
  onAlways?: (host: string) => void;
  credentials?: TaskCredentialsPort;
  sandboxApi?: SandboxApiHandler;
  decoys?: Decoy[];
  /** A display task: its browser gets a proxy port of its own, and page loads are reported. */
  browser?: { onNavigation: (url: string) => void };
}): Promise<TaskNetwork> {
  const { spec, gateway, task } = options;
  if (spec.mode === 'none') return { plan: { mode: 'none' }, env: {}, close: async () => 0, pause: async () => undefined, unpause: async () => undefined };
  if (!gateway || !options.assetsDir) throw new AirlockError('internal', `network mode ${spec.mode} needs the egress gateway, which this process did not start`);
  const credential = gateway.addTask({
    task, agent: options.agent,
    policy: buildPolicy({ mode: spec.mode, allow: spec.allow, local: spec.local, onUnknownHost: spec.onUnknownHost, askTimeoutMs: spec.askTimeoutMs, rate: spec.rate }),
    ...(options.onAlways ? { onAlways: options.onAlways } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.sandboxApi ? { sandboxApi: options.sandboxApi } : {}),
    ...(options.decoys ? { decoys: options.decoys } : {}),
    ...(options.browser ? { onNavigation: options.browser.onNavigation } : {}),
  });
  let endpoint: GatewayEndpoint;
  try {
    endpoint = await GatewayEndpoint.start(options.engine, {
      name: `airlock-${task}-gateway`, labels: options.labels, image: BASE_IMAGE, assetsDir: options.assetsDir,
      onConnection: (stream, port) => gateway.acceptConnection(task, stream, { browser: port === 'browser' }),
      browser: options.browser !== undefined,
    });
  } catch (error) {
    gateway.removeTask(task);
    if (isNotFound(error)) throw new AirlockError('image_missing', `image ${BASE_IMAGE} (the gateway endpoint's) is not on the engine`, 'build it with `airlock image build` (or --offline)');
    throw error;
  }
  const proxy = `http://${encodeURIComponent(credential.user)}:${encodeURIComponent(credential.password)}@127.0.0.1:${GATEWAY_PORT}`;
  // The agent's own loopback services are reached directly — unless a `local` rule names a loopback
  // address, which means the host's service: then loopback requests must go through the gateway.
  const loopbackRule = spec.local.some((rule) => /^(localhost|127\.[\d.]+|\[::1\]):/.test(rule));
  const noProxy = loopbackRule ? '' : 'localhost,127.0.0.1,::1';
  return {
    plan: { mode: 'container', container: endpoint.container.id },
    env: {
      HTTP_PROXY: proxy, HTTPS_PROXY: proxy, http_proxy: proxy, https_proxy: proxy, NO_PROXY: noProxy, no_proxy: noProxy, NODE_USE_ENV_PROXY: '1',
      ...(options.browser ? { AIRLOCK_BROWSER_PROXY: `http://127.0.0.1:${BROWSER_PROXY_PORT}` } : {}),
    },
    close: async () => {
      gateway.removeTask(task);
      return endpoint.destroy();
    },
    pause: () => endpoint.pause(),
    unpause: () => endpoint.unpause(),
  };
}
