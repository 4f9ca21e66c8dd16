import fs from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import net from 'node:net';
import path from 'node:path';
import { EventBus } from '../../main/core/audit/bus.js';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { TaskCredentials, type GrantRequest } from '../../main/core/tasks/grants.js';
import { CredentialStore } from '../../main/core/credentials/store.js';
import type { Decoy } from '../../main/core/gateway/decoys.js';
import { Gateway, type GatewayTimeouts } from '../../main/core/gateway/gateway.js';
import { buildPolicy } from '../../main/core/gateway/policy.js';
import type { SandboxApiHandler } from '../../main/core/gateway/task-state.js';
import { tempDir } from './env.js';
import { FakeClock } from './fake-clock.js';
import { proxyAuth, watchProcessFailures } from './gateway-client.js';
import { startHostileUpstream } from './hostile-upstream.js';
import { MemorySecrets } from './memory-secrets.js';

export const SECRET = 'sk_live_SENTINEL_7c41e9';
export const FILES_SECRET = 'files_SENTINEL_0b22d8';
export const HOSTILE_SECRET = 'hostile_SENTINEL_93ad10';

/** Short limits, so a fake clock can run them out. */
export const TEST_TIMEOUTS: GatewayTimeouts = { headersMs: 5_000, idleMs: 5_000, apiBodyMs: 2_000, upstreamResponseMs: 10_000, upstreamIdleMs: 5_000, tunnelIdleMs: 20_000, clientHelloMs: 5_000 };

/**
 * The real Gateway on a fake clock, in front of upstreams under the test's control, with a
 * credential store in memory: `vendor-api` (Authorization: Bearer) for echo.vendor.test,
 * `files-api` (X-Api-Key) for other.vendor.test, `hostile-api` for hostile.vendor.test and
 * `wild-api` for *.mint.vendor.test. `task()` registers a task as the runner would;
 * `bound()` opens a connection that arrived through the task's own endpoint (as the relay's do).
 */
export async function gatewayUnderAttack(options: { hostAddresses?: () => string[]; names?: Record<string, string>; timeouts?: Partial<GatewayTimeouts> } = {}) {
  const upstream = await startHostileUpstream(options.names);
  const clock = new FakeClock();
  const bus = new EventBus(clock);
  const events: AirlockEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const gateway = new Gateway({
    bus, clock, resolve: upstream.resolve, dial: upstream.dial, upstreamCa: fs.readFileSync(upstream.cert, 'utf8'), timeouts: { ...TEST_TIMEOUTS, ...options.timeouts },
    ...(options.hostAddresses ? { hostAddresses: options.hostAddresses } : {}),
  });
  const port = (await gateway.listen()).port;
  const store = new CredentialStore(path.join(tempDir(), 'home'), new MemorySecrets());
  store.add({ name: 'vendor-api', secret: SECRET, hosts: ['echo.vendor.test'], maxTtlMs: 3_600_000 });
  store.add({ name: 'files-api', secret: FILES_SECRET, hosts: ['other.vendor.test'], header: 'X-Api-Key: {secret}', maxTtlMs: 3_600_000 });
  store.add({ name: 'hostile-api', secret: HOSTILE_SECRET, hosts: ['hostile.vendor.test'], maxTtlMs: 3_600_000 });
  store.add({ name: 'wild-api', secret: 'wild_SENTINEL_5e8f21', hosts: ['*.mint.vendor.test'], maxTtlMs: 3_600_000 });
  const agent = { name: 'attacker', digest: 'sha256:x' };

  // Connections that arrive "through a task's endpoint": bound to the task, as relayed ones are.
  const binder = net.createServer((socket) => {
    const task = pendingBinds.shift();
    if (task) gateway.acceptConnection(task, socket);
    else socket.destroy();
  });
  const pendingBinds: string[] = [];
  const binderPort = await new Promise<number>((resolve) => binder.listen(0, '127.0.0.1', () => resolve((binder.address() as net.AddressInfo).port)));

  let counter = 0;
  async function task(spec: { grants?: Partial<GrantRequest>[]; allow?: string[]; local?: string[]; mode?: 'allowlist' | 'open'; rate?: { requestsPerMinute?: number; bytes?: number }; decoys?: Decoy[]; sandboxApi?: SandboxApiHandler; onUnknownHost?: 'deny' | 'ask' } = {}) {
    const id = `t_attack${++counter}`;
    const credentials = spec.grants ? await TaskCredentials.open({
      task: id, agent, store, bus, clock,
      requests: spec.grants.map((g) => ({ credential: 'vendor-api', ttlMs: 3_000_000, delivery: 'proxy' as const, env: 'VENDOR_TOKEN', ...g })),
    }) : undefined;
    const credential = gateway.addTask({
      task: id, agent,
      policy: buildPolicy({ mode: spec.mode ?? 'allowlist', allow: spec.allow ?? ['*.vendor.test'], local: spec.local ?? [], onUnknownHost: spec.onUnknownHost ?? 'deny', ...(spec.rate ? { rate: spec.rate } : {}) }),
      ...(credentials ? { credentials } : {}), ...(spec.decoys ? { decoys: spec.decoys } : {}), ...(spec.sandboxApi ? { sandboxApi: spec.sandboxApi } : {}),
    });
    const env = credentials ? await credentials.placeholderEnv() : {};
    return {
      id, env, credentials, auth: proxyAuth(credential), ca: credentials?.ca?.certificatePem ?? '',
      /** Events of this task of one kind. */
      of: (kind: string) => events.filter((e) => e.task === id && e.kind === kind),
      /** A TCP connection the gateway treats as arriving through this task's endpoint. */
      bound: () => new Promise<net.Socket>((resolve, reject) => {
        pendingBinds.push(id);
        const socket = net.connect(binderPort, '127.0.0.1', () => resolve(socket));
        socket.once('error', reject);
      }),
    };
  }
  return {
    gateway, upstream, clock, bus, events, port, store, task,
    close: async () => {
      binder.close();
      await gateway.close();
      await upstream.close();
    },
  };
}

export type GatewayUnderAttack = Awaited<ReturnType<typeof gatewayUnderAttack>>;

/**
 * One gateway under attack for a whole test file: started before its tests (handed to `use`),
 * closed after them; returns the watch on uncaught exceptions and unhandled rejections meanwhile.
 */
export function gatewayUnderAttackForFile(use: (attack: GatewayUnderAttack) => void, options?: Parameters<typeof gatewayUnderAttack>[0]): ReturnType<typeof watchProcessFailures> {
  const crashes = watchProcessFailures();
  let attack: GatewayUnderAttack | undefined;
  beforeAll(async () => {
    attack = await gatewayUnderAttack(options);
    use(attack);
  });
  afterAll(async () => {
    await attack?.close();
    crashes.stop();
  });
  return crashes;
}
