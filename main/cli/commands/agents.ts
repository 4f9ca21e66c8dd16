import type { Command } from 'commander';
import { AirlockError } from '../../core/errors.js';
import { loadManifestFile, type LoadedManifest } from '../../core/policy/manifest.js';
import { approveAgent, describeReplacement, type ApprovalRecorder } from '../../core/policy/approval.js';
import { AgentRegistry, currentUserName } from '../../core/policy/registry.js';
import { findShadowAgents } from '../../core/tasks/shadow.js';
import { approvalSummary } from '../../core/service/approval-summary.js';
import { ask } from '../ask.js';
import { createContext } from '../context.js';
import { out, outJsonLines } from '../stdout.js';
import { table } from './tasks.js';
import { inert, inertDeep } from '../terminal-text.js';

export function registerAgentCommands(program: Command): void {
  const agents = program.command('agents').description('the agents that may run: approvals pinned to each manifest\'s digest');
  agents
    .command('ls')
    .description('list known agents and whether they are approved')
    .option('--shadow', 'instead, list containers on the engine that look like agents, or carry Airlock\'s labels, but were not started by Airlock')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { shadow?: boolean; json?: boolean }) => {
      const ctx = createContext();
      if (opts.shadow) {
        const shadows = await findShadowAgents(ctx.engine, ctx.home.audit);
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
    .option('--replace', 'its name is approved from another file: replace that approval (asked on a terminal; refused without this otherwise)')
    .action(async (file: string, opts: { replace?: boolean }) => {
      const ctx = createContext();
      const registry = new AgentRegistry(ctx.home.root, ctx.assetsDir);
      const loaded = loadManifestFile(file);
      registry.assertApprovable(loaded);
      const by = currentUserName();
      out(`${describeAgent(loaded)}\n${describeDelegates(registry, loaded)}`);
      const replaced = registry.replaced(loaded);
      // What is replaced is the approval shown here: should another take the name meanwhile, approveAgent refuses.
      const replace = replaced !== undefined && (opts.replace === true || await confirmReplacement(describeReplacement(loaded, replaced)));
      await approveAgent(approvalRecorder(ctx, registry), loaded, by, undefined, replace ? { replaces: replaced.digest } : {});
      out(`approved ${inert(loaded.manifest.name)} (${loaded.digest.slice(7, 19)}) by ${inert(by)}${replaced ? `, replacing ${inert(replaced.file)} (${replaced.digest.slice(7, 19)})` : ''}\n`);
    });
}

/** Asks on a terminal; without one the answer is no (approveAgent then refuses, saying to pass --replace). */
async function confirmReplacement(what: string): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return false;
  return (await ask(`${what}.\nReplace it? [y/N] `)).trim().toLowerCase() === 'y';
}

/** The agents this one may start, each pinned by the digest it has now (or said to be unpinned). */
function describeDelegates(registry: AgentRegistry, loaded: LoadedManifest): string {
  const names = loaded.manifest.delegate?.allow ?? [];
  if (names.length === 0) return '';
  const pins = registry.currentDelegates(loaded);
  const lines = names.map((name) => pins[name]
    ? `    ${inert(name)}: pinned at ${pins[name].slice(7, 19)}`
    : `    ${inert(name)}: not approved now, so it cannot be started; approve it, then approve this manifest again`);
  return `  pins the agents it may start:\n${lines.join('\n')}\n`;
}

/** Approvals from the CLI go on this process's bus, into its audit trail (opened on first use). */
export function approvalRecorder(ctx: ReturnType<typeof createContext>, registry: AgentRegistry): ApprovalRecorder {
  return { registry, bus: ctx.bus, trail: () => ctx.audit() };
}

/** What a person should see before approving: everything the agent will get (core's approval summary, as the app shows it). */
export function describeAgent(loaded: LoadedManifest): string {
  // The manifest may be someone else's: every field of it is shown inert.
  const s = inertDeep(approvalSummary(loaded));
  return [
    `${s.name}${s.description ? ` — ${s.description}` : ''}`,
    ...s.rows.map((row) => `  ${`${row.label}:`.padEnd(14)}${row.text}`),
    ...s.warnings.map((w) => `  ⚠ ${w}`),
  ].join('\n');
}

export function notApproved(loaded: LoadedManifest, state: 'changed' | 'unapproved'): AirlockError {
  return new AirlockError('policy_refused',
    state === 'changed' ? `agent ${loaded.manifest.name}: its manifest has changed since it was approved (now ${loaded.digest.slice(7, 19)})` : `agent ${loaded.manifest.name} is not approved`,
    `review it and approve it: airlock agents approve ${loaded.file}`);
}
