import type { EventBus } from '../audit/bus.js';
import type { Clock } from '../clock.js';
import type { Engine } from '../engine/engine.js';
import { AirlockError } from '../errors.js';
import type { Gateway } from '../gateway/gateway.js';
import type { HomeLayout } from '../home.js';
import { McpBroker } from '../mcp/broker.js';
import { askPersonAboutTool } from '../mcp/tool-ask.js';
import { ToolPins } from '../mcp/tool-pins.js';
import type { StdioBounds } from '../mcp/stdio-channel.js';
import { startServerSandbox } from './mcp-server-sandbox.js';
import { startRemoteServer } from './mcp-remote-server.js';
import type { CredentialStore } from '../credentials/store.js';
import type { TaskSpec } from './spec.js';
import type { Teardown } from './teardown.js';

/**
 * A task's MCP broker (its `mcp:` servers), or undefined when the manifest lists none. Its servers
 * are ended by the teardown, before the task's network and grants: a server dies with its task.
 */
export function openTaskMcp(options: {
  task: string; spec: TaskSpec; bus: EventBus; clock: Clock; home: HomeLayout; engine: Engine; gateway: Gateway | undefined;
  assetsDir: string; owner: string; sidecarGraceMs: number; teardown: Teardown; stdioBounds?: Partial<StdioBounds>;
  /** Where a remote server's `credential:` is read from. */
  credentials?: CredentialStore | undefined;
}): McpBroker | undefined {
  const { task, spec, bus, clock, gateway } = options;
  if (!spec.mcp) return undefined;
  if (!gateway) throw new AirlockError('internal', 'mcp: servers need the egress gateway, which this process did not start');
  const mcp = spec.mcp;
  const askTimeoutMs = spec.network.mode === 'none' ? 60_000 : spec.network.askTimeoutMs;
  const broker = new McpBroker({
    task, agent: spec.agent, bus, clock, servers: mcp.servers, pins: new ToolPins(options.home.root, () => clock.now()),
    ask: askPersonAboutTool({ approvals: gateway.approvals, bus, task, agent: spec.agent, timeoutMs: askTimeoutMs }),
    ...(mcp.maxRepeats !== undefined ? { maxRepeats: mcp.maxRepeats } : {}),
    start: async (name, onEnd) => {
      const server = mcp.servers.find((s) => s.name === name)!;
      if (server.url) {
        const remote = await startRemoteServer(
          { bus, clock, gateway, credentials: options.credentials, owner: options.owner },
          { parent: { task, agent: spec.agent, timeoutMs: spec.timeoutMs }, server, onEnd, ...(options.stdioBounds ? { bounds: options.stdioBounds } : {}) },
        );
        return { upstream: remote.channel, stop: remote.stop };
      }
      const running = await startServerSandbox(
        { engine: options.engine, bus, clock, gateway, assetsDir: options.assetsDir, owner: options.owner },
        { parent: { task, agent: spec.agent, timeoutMs: spec.timeoutMs }, server, manifestDir: mcp.manifestDir, sidecarGraceMs: options.sidecarGraceMs, onEnd, ...(options.stdioBounds ? { bounds: options.stdioBounds } : {}) },
      );
      return { upstream: running.channel, stop: running.stop };
    },
  });
  options.teardown.add('mcp servers', () => broker.stop());
  return broker;
}
