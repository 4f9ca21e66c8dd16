// Providers' credentials in one step: the hosts and the injection of each, so that
// `airlock cred add anthropic --preset anthropic` needs nothing but the key.
import { AirlockError } from '../errors.js';
import type { Injection } from './injection.js';

export interface CredentialPreset {
  name: 'anthropic' | 'openai' | 'gemini' | 'github';
  hosts: string[];
  inject: Injection;
  description: string;
}

export const CREDENTIAL_PRESETS: Record<string, CredentialPreset> = {
  anthropic: { name: 'anthropic', hosts: ['api.anthropic.com'], inject: { kind: 'header', template: 'x-api-key: {secret}' }, description: 'Anthropic API key (Claude Code, the Anthropic SDKs)' },
  openai: { name: 'openai', hosts: ['api.openai.com'], inject: { kind: 'header', template: 'Authorization: Bearer {secret}' }, description: 'OpenAI API key (Codex CLI, the OpenAI SDKs)' },
  gemini: { name: 'gemini', hosts: ['generativelanguage.googleapis.com'], inject: { kind: 'header', template: 'x-goog-api-key: {secret}' }, description: 'Gemini API key (Gemini CLI, the Google Gen AI SDKs)' },
  github: { name: 'github', hosts: ['github.com'], inject: { kind: 'basic', user: 'x-access-token' }, description: 'GitHub token for git over HTTPS' },
};

/** A preset by name; an AirlockError naming the known ones otherwise. */
export function credentialPreset(name: string): CredentialPreset {
  const preset = Object.hasOwn(CREDENTIAL_PRESETS, name) ? CREDENTIAL_PRESETS[name] : undefined;
  if (!preset) throw new AirlockError('bad_argument', `--preset: '${name}' is not a preset`, `one of ${Object.keys(CREDENTIAL_PRESETS).join(', ')}`);
  return preset;
}

/** The command that stores a credential `name` (default: the preset's name) from a preset. */
export function presetAddCommand(preset: string, name: string = preset): string {
  return `airlock cred add ${name} --preset ${preset}`;
}
