import type { Engine } from '../engine/engine.js';
import { LABEL } from '../engine/engine.js';
import { ROLE_LABEL } from '../engine/hardening.js';
import { ownTaskObjects } from './own-objects.js';

/** The labels that say "Airlock made this for a task" (its images' own `airlock.image` labels say nothing of the kind). */
const TASK_LABELS = [...Object.values(LABEL), ROLE_LABEL];

export interface ShadowAgent {
  id: string;
  name: string;
  image: string;
  reasons: string[];
}

// Signs that a container is an AI agent: model API keys in its environment, or agent frameworks
// and model SDKs in its image or command.
const KEY_NAMES = /^(OPENAI|ANTHROPIC|CLAUDE|GEMINI|GOOGLE_AI|MISTRAL|COHERE|GROQ|TOGETHER|REPLICATE|HF|HUGGINGFACE|AZURE_OPENAI|DEEPSEEK|XAI|PERPLEXITY)[A-Z_]*(KEY|TOKEN)$/;
const AGENT_WORDS = /\b(agent|agents|langchain|langgraph|llamaindex|autogen|crewai|openai|anthropic|claude|gpt|llm|mcp|smolagents|browser-use|computer-use)\b/i;

/**
 * Containers on the engine that look like agent workloads but were not started by Airlock
 * (`airlock agents ls --shadow`): the agents nobody approved. A container that carries Airlock's
 * labels (`airlock.task`, `.owner`…) is Airlock's only if its audit trail (`trailDir`) vouches for it
 * (tasks/own-objects.ts); otherwise it is listed, whatever it looks like, for its forged labels.
 */
export async function findShadowAgents(engine: Engine, trailDir: string): Promise<ShadowAgent[]> {
  const [containers, own] = await Promise.all([engine.call((api) => api.listContainers({ all: false })), ownTaskObjects(engine, trailDir)]);
  const vouched = new Set([...own.tasks, ...own.slots].flatMap((t) => t.containers.map((c) => c.id)));
  const forged = new Map(own.forged.filter((f) => f.kind === 'container').map((f) => [f.id, f.reason]));
  const shadows: ShadowAgent[] = [];
  for (const summary of containers) {
    if (vouched.has(summary.Id)) continue;
    const reasons: string[] = [];
    const claimsAirlock = TASK_LABELS.some((label) => summary.Labels?.[label] !== undefined);
    if (claimsAirlock) reasons.push(`forged Airlock labels: ${forged.get(summary.Id.slice(0, 12)) ?? 'they name no task Airlock made'}`);
    const info = await engine.api.getContainer(summary.Id).inspect().catch(() => undefined);
    if (info) {
      const keys = (info.Config.Env ?? []).map((e) => e.split('=')[0]!).filter((k) => KEY_NAMES.test(k));
      if (keys.length > 0) reasons.push(`model API keys in its environment: ${keys.join(', ')}`);
      const command = [...(info.Config.Entrypoint ?? []), ...(info.Config.Cmd ?? [])].join(' ');
      const word = AGENT_WORDS.exec(`${info.Config.Image} ${command}`);
      if (word) reasons.push(`"${word[0]}" in its image or command`);
    }
    if (reasons.length > 0) shadows.push({ id: summary.Id.slice(0, 12), name: summary.Names[0]?.replace(/^\//, '') ?? '', image: info?.Config.Image ?? summary.Image, reasons });
  }
  return shadows;
}
