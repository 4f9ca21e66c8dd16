import type { Engine } from '../engine/engine.js';
import { LABEL } from '../engine/engine.js';

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
 * (`airlock agents ls --shadow`): the agents nobody approved.
 */
export async function findShadowAgents(engine: Engine): Promise<ShadowAgent[]> {
  const containers = await engine.call((api) => api.listContainers({ all: false }));
  const shadows: ShadowAgent[] = [];
  for (const summary of containers) {
    if (summary.Labels?.[LABEL.task]) continue;
    const info = await engine.api.getContainer(summary.Id).inspect().catch(() => undefined);
    if (!info) continue;
    const reasons: string[] = [];
    const keys = (info.Config.Env ?? []).map((e) => e.split('=')[0]!).filter((k) => KEY_NAMES.test(k));
    if (keys.length > 0) reasons.push(`model API keys in its environment: ${keys.join(', ')}`);
    const command = [...(info.Config.Entrypoint ?? []), ...(info.Config.Cmd ?? [])].join(' ');
    const word = AGENT_WORDS.exec(`${info.Config.Image} ${command}`);
    if (word) reasons.push(`"${word[0]}" in its image or command`);
    if (reasons.length > 0) shadows.push({ id: summary.Id.slice(0, 12), name: summary.Names[0]?.replace(/^\//, '') ?? '', image: info.Config.Image, reasons });
  }
  return shadows;
}
