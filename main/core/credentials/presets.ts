// Credential presets: the hosts and the way the secret goes into a request for the providers the
// kits use, so `airlock cred add anthropic --preset anthropic` needs only the key.
// KITS' minimal copy of the shape in I15-SHAPES §2 (CREDS owns this file; its version wins at merge).

/** How the secret goes into a request. */
export type Injection =
  | { kind: 'header'; template: string }
  | { kind: 'query'; param: string }
  | { kind: 'basic'; user?: string };

export interface CredentialPreset {
  name: 'anthropic' | 'openai' | 'gemini' | 'github';
  hosts: string[];
  inject: Injection;
  description: string;
}

export const CREDENTIAL_PRESETS: Record<string, CredentialPreset> = {
  anthropic: { name: 'anthropic', hosts: ['api.anthropic.com'], inject: { kind: 'header', template: 'x-api-key: {secret}' }, description: 'Anthropic API key (Claude Code, the Anthropic SDKs)' },
  openai: { name: 'openai', hosts: ['api.openai.com'], inject: { kind: 'header', template: 'Authorization: Bearer {secret}' }, description: 'OpenAI API key (Codex, the OpenAI SDKs)' },
  gemini: { name: 'gemini', hosts: ['generativelanguage.googleapis.com'], inject: { kind: 'header', template: 'x-goog-api-key: {secret}' }, description: 'Gemini API key (Gemini CLI, the Google Gen AI SDKs)' },
  github: { name: 'github', hosts: ['github.com'], inject: { kind: 'basic', user: 'x-access-token' }, description: 'GitHub token (git over HTTPS)' },
};

/** The command that stores a credential from a preset (the key on stdin or at the prompt). */
export function presetAddCommand(preset: string, name: string = preset): string {
  return `airlock cred add ${name} --preset ${preset}`;
}
