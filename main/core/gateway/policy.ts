import type { Decision } from '../audit/events.js';
import { parseHostRule, parseLocalRule, ruleMatches, type HostRule, type LocalRule } from './rules.js';
import { formatTarget, type Target } from './target.js';

/** A task's network policy as the gateway enforces it. */
export interface NetworkPolicy {
  mode: 'allowlist' | 'open';
  allow: HostRule[];
  local: LocalRule[];
  onUnknownHost: 'deny' | 'ask';
  /** How long an asked request waits; the gateway's default when absent. */
  askTimeoutMs?: number;
  rate: { requestsPerMinute?: number; bytes?: number };
}

export function buildPolicy(input: {
  mode: 'allowlist' | 'open';
  allow: string[];
  local: string[];
  onUnknownHost: 'deny' | 'ask';
  askTimeoutMs?: number;
  rate?: { requestsPerMinute?: number; bytes?: number };
}): NetworkPolicy {
  const allow = input.allow.map((text) => {
    const rule = parseHostRule(text);
    if (!rule) throw new Error(`'${text}' is not a host rule`);
    return rule;
  });
  const local = input.local.map((text) => {
    const rule = parseLocalRule(text);
    if (!rule) throw new Error(`'${text}' is not host:port`);
    return rule;
  });
  return { mode: input.mode, allow, local, onUnknownHost: input.onUnknownHost, rate: input.rate ?? {}, ...(input.askTimeoutMs !== undefined ? { askTimeoutMs: input.askTimeoutMs } : {}) };
}

export type NameVerdict =
  | { verdict: 'allow'; decision: Decision; local: boolean }
  | { verdict: 'deny'; decision: Decision; reason: string }
  | { verdict: 'ask' };

/**
 * The decision on a name, before any DNS lookup. `approved` holds the hosts a person allowed for
 * this task while it runs.
 */
export function decideName(policy: NetworkPolicy, target: Target, approved: HostRule[]): NameVerdict {
  const local = policy.local.find((rule) => rule.host === target.host && rule.port === target.port);
  if (local) return { verdict: 'allow', decision: { allow: true, rule: `local:${local.text}`, by: 'policy' }, local: true };
  const listed = policy.allow.find((rule) => ruleMatches(rule, target));
  if (listed) return { verdict: 'allow', decision: { allow: true, rule: `allow:${listed.text}`, by: 'policy' }, local: false };
  const approval = approved.find((rule) => ruleMatches(rule, target));
  if (approval) return { verdict: 'allow', decision: { allow: true, rule: `approved:${approval.text}`, by: 'user' }, local: false };
  if (policy.mode === 'open') return { verdict: 'allow', decision: { allow: true, rule: 'mode:open', by: 'policy' }, local: false };
  if (policy.onUnknownHost === 'ask') return { verdict: 'ask' };
  return {
    verdict: 'deny',
    decision: { allow: false, rule: 'allowlist', by: 'default' },
    reason: `${formatTarget(target)} is not in this task's allowlist`,
  };
}
