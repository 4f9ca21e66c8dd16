import fs from 'node:fs';
import path from 'node:path';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import type { EngineClient } from '../../main/core/server/client.js';
import { waitFor } from './env.js';

/**
 * Runs a manifest as a task of the engine `client` talks to (opened, approved, run, as the app
 * does) and waits until the agent has printed `up`. Returns the task id and the events seen.
 */
export async function runInEngine(client: EngineClient, dir: string, yaml: string): Promise<{ task: string; events: AirlockEvent[] }> {
  const file = path.join(dir, 'agent.yaml');
  fs.writeFileSync(file, yaml);
  const events: AirlockEvent[] = [];
  client.subscribe('events', (batch) => events.push(...(batch.events as AirlockEvent[])));
  const agent = await client.call('agents.openFile', file);
  await client.call('agents.approve', agent.id, {});
  const { task } = await client.call('tasks.run', { agentId: agent.id, network: { mode: 'none' } });
  await waitFor(async () => (events.some((e) => e.task === task && e.kind === 'proc.stdout' && e.data.line === 'up') ? true : undefined), 'the agent to start');
  return { task, events };
}
