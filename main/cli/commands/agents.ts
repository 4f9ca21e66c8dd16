import type { Command } from 'commander';
import { AirlockError } from '../../core/errors.js';
import { loadManifestFile, type LoadedManifest } from '../../core/policy/manifest.js';
import { AgentRegistry, recordApproval as recordAgentApproval } from '../../core/policy/registry.js';
import { findShadowAgents } from '../../core/policy/shadow.js';
import { formatDuration } from '../../core/policy/units.js';
import { createContext } from '../context.js';
import { out, outJsonLines } from '../stdout.js';
import { table } from './tasks.js';

export function registerAgentCommands(program: Command): void {
  const agents = program.command('agents').description('the agents that may run: approvals pinned to each manifest\'s digest');
  agents
    .command('ls')
    .description('list known agents and whether they are approved')
    .option('--shadow', 'instead, list containers on the engine that look like agents but were not started by Airlock')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { shadow?: boolean; json?: boolean }) => {
      const ctx = createContext();
      if (opts.shadow) {
        const shadows = await findShadowAgents(ctx.engine);
        if (opts.json) outJsonLines(shadows);
        else if (shadows.length === 0) out('no shadow agents: every agent-like container on the engine was started by Airlock\n');
        else out(table(['CONTAINER', 'NAME', 'IMAGE', 'WHY IT LOOKS LIKE AN AGENT'], shadows.map((s) => [s.id, s.name, s.image, s.reasons.join('; ')])));
        return;
      }
      const list = new AgentRegistry(ctx.home.root, ctx.assetsDir).list();
      if (opts.json) {
        outJsonLines(list);
        return;
      }
      out(table(['NAME', 'STATE', 'DIGEST', 'MANIFEST'], list.map((a) => [a.name, a.state, a.digest?.slice(7, 19) ?? 'unreadable', a.file])));
    });
  agents
    .command('show')
    .description('what an agent is allowed to do, and its approval')
    .argument('<name>')
    .action((name: string) => {
      const ctx = createContext();
      const registry = new AgentRegistry(ctx.home.root, ctx.assetsDir);
      const loaded = loadManifestFile(registry.fileOf(name));
      out(`${describeAgent(loaded)}\napproval: ${registry.stateOf(loaded)}\n`);
    });
  agents
    .command('approve')
    .description('approve a manifest as it is now (any later change asks again)')
    .argument('<manifest>', 'the manifest .yaml file')
    .action((file: string) => {
      const ctx = createContext();
      const loaded = loadManifestFile(file);
      const entry = new AgentRegistry(ctx.home.root, ctx.assetsDir).approve(loaded);
      recordApproval(ctx, loaded, entry.approvedBy);
      out(`${describeAgent(loaded)}\napproved ${loaded.manifest.name} (${loaded.digest.slice(7, 19)}) by ${entry.approvedBy}\n`);
    });
}

/** A person approved an agent: that is on the record too. */
export function recordApproval(ctx: ReturnType<typeof createContext>, loaded: LoadedManifest, by: string): void {
  try {
    ctx.audit();
  } catch {
    return; // without a keychain there is no trail to write to; run refuses anyway
  }
  recordAgentApproval(ctx.bus, loaded, by);
}

/** What a person should see before approving: what the agent may reach and hold. */
export function describeAgent(loaded: LoadedManifest): string {
  const m = loaded.manifest;
  const net = m.network.mode === 'none' ? 'none' : m.network.mode === 'open' ? 'open (any public host)' : `allowlist: ${[...m.network.allow, ...m.network.local.map((l) => `local ${l}`)].join(', ') || '(empty)'}${m.network.onUnknownHost === 'ask' ? ', asks about others' : ''}`;
  return [
    `${m.name}${m.description ? ` — ${m.description}` : ''}`,
    `  manifest:    ${loaded.file} (${loaded.digest})`,
    `  image:       ${m.image}   command: ${m.command ? JSON.stringify(m.command) : '(the image\'s)'}`,
    `  network:     ${net}`,
    `  credentials: ${m.credentials.map((c) => `${c.name} (${c.delivery}${c.ttl ? `, ${c.ttl}` : ''})`).join(', ') || 'none'}`,
    `  delegates:   ${m.delegate?.allow.join(', ') || 'none'}`,
    `  on violation: ${m.onViolation}   timeout: ${m.timeout ?? formatDuration(600_000)}`,
  ].join('\n');
}

export function notApproved(loaded: LoadedManifest, state: 'changed' | 'unapproved'): AirlockError {
  return new AirlockError('policy_refused',
    state === 'changed' ? `agent ${loaded.manifest.name}: its manifest has changed since it was approved (now ${loaded.digest.slice(7, 19)})` : `agent ${loaded.manifest.name} is not approved`,
    `review it and approve it: airlock agents approve ${loaded.file}`);
}
