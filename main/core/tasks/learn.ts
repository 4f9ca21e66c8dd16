import type { AirlockEvent } from '../audit/events.js';
import { HTTPS_PORTS, hostPatternText, normaliseHost, WEB_PORTS } from '../host-pattern.js';

/** One host learn mode proposes, with what it saw: a person reviews each before it is applied. */
export interface LearnedHost {
  /** As written in `network.allow`: the port unless 80 or 443, an IPv6 address in brackets. */
  host: string;
  requests: number;
  /** The rules that let those requests through (`open` in a learning run). */
  rules: string[];
}

/** A host a request reached that is not proposed: never turned into a pattern. */
export interface LeftOutHost {
  host: string;
  requests: number;
  reason: string;
}

export interface Learned {
  /** The proposed `network.allow`, sorted. */
  allow: string[];
  /** The same, one entry per host with its evidence. */
  hosts: LearnedHost[];
  credentialHosts: string[];
  leftOut: LeftOutHost[];
}

/**
 * Learn mode: from a run whose network was `open`, the smallest allowlist that would have served
 * it — every host (with its port unless 80 or 443) that a request of THIS task reached — and the
 * credential hosts its grants were used with. A child task's hosts are its own: they would go in
 * the child's manifest, not the parent's. A name that is not a valid host name (`*.x`, anything a
 * pattern could read as more than one host) is left out and reported, never proposed.
 */
export function learnedAllowlist(events: readonly AirlockEvent[], task: string): Learned {
  const hosts = new Map<string, { requests: number; rules: Set<string> }>();
  const leftOut = new Map<string, number>();
  const credentialHosts = new Set<string>();
  for (const event of events) {
    if (event.task !== task || (event.kind !== 'net.request' && event.kind !== 'cred.used')) continue;
    if (typeof event.data.host !== 'string') continue;
    const port = Number(event.data.port);
    if (!Number.isInteger(port)) continue;
    const raw = event.data.host;
    const host = normaliseHost(raw);
    if (!host) {
      if (event.kind === 'net.request') leftOut.set(raw, (leftOut.get(raw) ?? 0) + 1);
      continue;
    }
    // Written as host patterns are everywhere: an IPv6 address in brackets, the port unless a default one.
    if (event.kind === 'net.request' && event.decision?.allow && !String(event.decision.rule).startsWith('local:')) {
      const text = hostPatternText({ ...host, port }, WEB_PORTS);
      const seen = hosts.get(text) ?? { requests: 0, rules: new Set<string>() };
      seen.requests += 1;
      seen.rules.add(String(event.decision.rule));
      hosts.set(text, seen);
    }
    if (event.kind === 'cred.used') credentialHosts.add(hostPatternText({ ...host, port }, HTTPS_PORTS));
  }
  const learned = [...hosts].sort(([a], [b]) => a.localeCompare(b)).map(([host, seen]) => ({ host, requests: seen.requests, rules: [...seen.rules].sort() }));
  return {
    allow: learned.map((h) => h.host),
    hosts: learned,
    credentialHosts: [...credentialHosts].sort(),
    leftOut: [...leftOut].sort(([a], [b]) => a.localeCompare(b)).map(([host, requests]) => ({ host, requests, reason: 'not a valid host name: never learned as a pattern' })),
  };
}

/** The proposal as a person reviews it: one host per line, with how many requests and which rule let them through. */
export function learnedReview(learned: Learned): string {
  const width = Math.max(0, ...learned.hosts.map((h) => h.host.length), ...learned.leftOut.map((h) => h.host.length));
  const count = (n: number) => `${n} request${n === 1 ? '' : 's'}`;
  const lines = [`learned: the run reached ${learned.hosts.length} host(s); review each before applying`];
  for (const h of learned.hosts) lines.push(`  ${h.host.padEnd(width)}  ${count(h.requests).padEnd(12)}  rule ${h.rules.join(', ')}`);
  if (learned.credentialHosts.length) lines.push(`credentials were used with: ${learned.credentialHosts.join(', ')}`);
  if (learned.leftOut.length) {
    lines.push('left out:');
    for (const h of learned.leftOut) lines.push(`  ${h.host.padEnd(width)}  ${count(h.requests).padEnd(12)}  ${h.reason}`);
  }
  return lines.join('\n');
}

/** The manifest change that applies it, as a person would write it: one host per line. */
export function learnedDiff(current: { mode: string; allow: string[]; onUnknownHost: string }, learned: string[]): string {
  const allowLines = (hosts: string[]) => (hosts.length === 0 ? ['  allow: []'] : ['  allow:', ...hosts.map((h) => `    - ${h}`)]);
  const lines = ['--- manifest (network)', '+++ learned', ' network:'];
  const mode = (text: string) => `  mode: ${text}`;
  const unknown = (text: string) => `  onUnknownHost: ${text}`;
  if (current.mode === 'allowlist') lines.push(` ${mode('allowlist')}`);
  else lines.push(`-${mode(current.mode)}`, `+${mode('allowlist')}`);
  const before = allowLines(current.allow);
  const after = allowLines(learned);
  if (before.join('\n') === after.join('\n')) lines.push(...before.map((l) => ` ${l}`));
  else lines.push(...before.map((l) => `-${l}`), ...after.map((l) => `+${l}`));
  if (current.onUnknownHost === 'deny') lines.push(` ${unknown('deny')}`);
  else lines.push(`-${unknown(current.onUnknownHost)}`, `+${unknown('deny')}`);
  return lines.join('\n');
}
