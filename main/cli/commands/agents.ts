import path from 'node:path';
import type { Command } from 'commander';
import { AirlockError, type AirlockErrorCode } from '../../core/errors.js';
import type { EngineClient } from '../../core/server/client.js';
import type { AgentInspection, AgentSummary } from '../../core/service/types.js';
import { ask } from '../ask.js';
import { engine } from '../context.js';
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
      const client = await engine();
      if (opts.shadow) {
        const shadows = await client.call('agents.shadow');
        if (opts.json) outJsonLines(shadows);
        else if (shadows.length === 0) out('no shadow agents: every agent-like container on the engine was started by Airlock\n');
        else out(table(['CONTAINER', 'NAME', 'IMAGE', 'WHY IT LOOKS LIKE AN AGENT'], shadows.map((s) => [s.id, s.name, s.image, s.reasons.join('; ')])));
        return;
      }
      const list = await client.call('agents.registered');
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
    .action(async (name: string) => {
      const agent = await inspect(await engine(), name);
      out(`${describeAgent(agent)}\napproval: ${agent.approval}\n`);
    });
  agents
    .command('approve')
    .description('approve a manifest as it is now (any later change asks again)')
    .argument('<manifest>', 'the manifest .yaml file')
    .option('--replace', 'its name is approved from another file: replace that approval (asked on a terminal; refused without this otherwise)')
    .action(async (file: string, opts: { replace?: boolean }) => {
      const client = await engine();
      const agent = await inspect(client, path.resolve(file));
      if (agent.source === 'built-in') throw new AirlockError('policy_refused', `${agent.name} is a built-in agent: it needs no approval`, 'run it by name');
      out(`${describeAgent(agent)}\n${describeDelegates(agent)}`);
      const replaced = agent.replaces;
      // What is replaced is the approval shown here: should another take the name meanwhile, the engine refuses.
      // Loaded when used: the policy modules (manifest schemas, YAML) are the engine's, not every command's.
      const { describeReplacement } = await import('../../core/policy/approval.js');
      const { currentUserName } = await import('../../core/policy/registry.js');
      const replace = replaced !== undefined && (opts.replace === true || await confirmReplacement(describeReplacement({ manifest: { name: agent.name }, file: agent.file, digest: agent.digest ?? '' }, replaced)));
      const approved = await approveForRun(client, agent, replace ? replaced.digest : undefined);
      out(`approved ${inert(approved.name)} (${approved.digest?.slice(7, 19) ?? ''}) by ${inert(currentUserName())}${replaced ? `, replacing ${inert(replaced.file)} (${replaced.digest.slice(7, 19)})` : ''}\n`);
    });
}

/** An agent by name or manifest path; one that does not load is its error. */
async function inspect(client: EngineClient, ref: string): Promise<AgentInspection> {
  const agent = await client.call('agents.inspect', ref);
  if (agent.error) throw new AirlockError(agent.error.code as AirlockErrorCode, agent.error.message, agent.error.hint);
  return agent;
}

/**
 * Approves the manifest as the person saw it, through the engine (it is kept only once its record
 * is in the audit trail): the file is opened as an agent, then approved by its id. Another file's
 * approval under the same name is replaced only when `replaces` is the digest that was shown.
 */
export async function approveForRun(client: EngineClient, agent: AgentSummary, replaces?: string): Promise<AgentSummary> {
  const opened = await client.call('agents.openFile', agent.file);
  if (opened.digest !== agent.digest) throw new AirlockError('bad_argument', `${agent.file} changed while it was shown`, 'look at it again, then approve it');
  return client.call('agents.approve', opened.id, replaces === undefined ? {} : { replaces });
}

/** Asks on a terminal; without one the answer is no (the engine then refuses, saying to pass --replace). */
async function confirmReplacement(what: string): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return false;
  return (await ask(`${what}.\nReplace it? [y/N] `)).trim().toLowerCase() === 'y';
}

/** The agents this one may start, each pinned by the digest it has now (or said to be unpinned). */
function describeDelegates(agent: AgentInspection): string {
  if (agent.delegatePins.length === 0) return '';
  const lines = agent.delegatePins.map(({ name, digest }) => digest
    ? `    ${inert(name)}: pinned at ${digest.slice(7, 19)}`
    : `    ${inert(name)}: not approved now, so it cannot be started; approve it, then approve this manifest again`);
  return `  pins the agents it may start:\n${lines.join('\n')}\n`;
}

/** What a person should see before approving: everything the agent will get (core's approval summary, as the app shows it). */
export function describeAgent(agent: AgentSummary): string {
  if (!agent.review) throw new AirlockError('bad_manifest', agent.error?.message ?? `cannot load ${agent.file}`, agent.error?.hint);
  // The manifest may be someone else's: every field of it is shown inert.
  const s = inertDeep(agent.review);
  return [
    `${s.name}${s.description ? ` — ${s.description}` : ''}`,
    ...s.rows.map((row) => `  ${`${row.label}:`.padEnd(14)}${row.text}`),
    ...s.warnings.map((w) => `  ⚠ ${w}`),
  ].join('\n');
}

export function notApproved(agent: Pick<AgentSummary, 'name' | 'digest' | 'file'>, state: 'changed' | 'unapproved'): AirlockError {
  return new AirlockError('policy_refused',
    state === 'changed' ? `agent ${agent.name}: its manifest has changed since it was approved (now ${agent.digest?.slice(7, 19) ?? '?'})` : `agent ${agent.name} is not approved`,
    `review it and approve it: airlock agents approve ${agent.file}`);
}
