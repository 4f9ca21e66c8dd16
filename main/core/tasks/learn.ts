import type { AirlockEvent } from '../audit/events.js';

/**
 * Learn mode: from a run whose network was `open`, the smallest allowlist that would have served
 * it — every host (with its port unless 80 or 443) that a request reached — and the credential
 * hosts its grants were used with.
 */
export function learnedAllowlist(events: AirlockEvent[]): { allow: string[]; credentialHosts: string[] } {
  const allow = new Set<string>();
  const credentialHosts = new Set<string>();
  for (const event of events) {
    if (event.kind === 'net.request' && event.decision?.allow && typeof event.data.host === 'string' && !String(event.decision.rule).startsWith('local:')) {
      const port = Number(event.data.port);
      allow.add(port === 80 || port === 443 ? event.data.host : `${event.data.host}:${port}`);
    }
    if (event.kind === 'cred.used' && typeof event.data.host === 'string') credentialHosts.add(event.data.host);
  }
  return { allow: [...allow].sort(), credentialHosts: [...credentialHosts].sort() };
}

/** The manifest change that applies it, as a person would write it. */
export function learnedDiff(current: { mode: string; allow: string[]; onUnknownHost: string }, learned: string[]): string {
  const before = [`  mode: ${current.mode}`, `  allow: [${current.allow.join(', ')}]`, `  onUnknownHost: ${current.onUnknownHost}`];
  const after = ['  mode: allowlist', `  allow: [${learned.join(', ')}]`, '  onUnknownHost: deny'];
  const lines = ['--- manifest (network)', '+++ learned', ' network:'];
  for (let i = 0; i < before.length; i++) {
    if (before[i] === after[i]) lines.push(` ${before[i]}`);
    else lines.push(`-${before[i]}`, `+${after[i]}`);
  }
  return lines.join('\n');
}
