import type { Decision } from '../audit/events.js';
import { SANDBOX_API_HOST } from './api-route.js';
import { answerRule, NO_PERSON, type ApprovalAnswer, type Approvals } from './approvals.js';
import type { Resolver } from './dialing.js';
import { decideName, type NameVerdict } from './policy.js';
import { exactHostPattern } from '../host-pattern.js';
import type { HostAddresses } from './addresses.js';
import { refusedAddressReason } from './rules.js';
import { formatTarget, type Target } from './target.js';
import type { Admission, GatewayEvents, GatewayTask } from './task-state.js';

/** May this request go, and to which address: limits, then the name (before DNS), then every resolved address. */
export class AdmissionControl {
  readonly #events: GatewayEvents;
  readonly #resolve: Resolver;
  readonly #approvals: Approvals;
  readonly #hostAddresses: HostAddresses;

  constructor(events: GatewayEvents, resolve: Resolver, approvals: Approvals, hostAddresses: HostAddresses) {
    this.#events = events;
    this.#resolve = resolve;
    this.#approvals = approvals;
    this.#hostAddresses = hostAddresses;
  }

  /** Why an address may not be dialled without a `local` rule: not public, or this machine's own. */
  #refused(address: string): string | undefined {
    return refusedAddressReason(address) ?? (this.#hostAddresses.has(address) ? 'an address of this machine' : undefined);
  }

  async admit(network: GatewayTask, target: Target, method: string, path: string | undefined): Promise<Admission> {
    const limited = network.limits.admitRequest();
    if (limited) {
      this.#events.violation(network, limited, target, method, path);
      return { ok: false, status: 429, reason: limited, decision: { allow: false, rule: limited.split(':')[0]!, by: 'policy' } };
    }
    const named = decideName(network.policy, target, network.approved);
    const verdict = named.verdict !== 'allow' && network.allowedOnce.delete(exactHostPattern(target).text)
      ? { verdict: 'allow' as const, decision: { allow: true, rule: 'access:once', by: 'user' as const }, local: false }
      : named.verdict === 'ask' ? (await this.#ask(network, target)).verdict : named;
    if (verdict.verdict === 'deny') return { ok: false, status: 403, reason: verdict.reason, decision: verdict.decision };
    let addresses: string[];
    try {
      addresses = target.kind === 'name' ? await this.#resolve(target.host) : [target.host];
    } catch (error) {
      return { ok: false, status: 502, reason: `${target.host} could not be resolved (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, decision: { ...verdict.decision, allow: false } };
    }
    if (verdict.local) return addresses[0] ? { ok: true, address: addresses[0], decision: verdict.decision } : { ok: false, status: 502, reason: `${target.host} has no address`, decision: { ...verdict.decision, allow: false } };
    const usable = addresses.find((address) => this.#refused(address) === undefined);
    if (usable) return { ok: true, address: usable, decision: verdict.decision };
    const first = addresses[0] ?? '';
    const why = this.#refused(first) ?? 'no address';
    const reason = target.kind === 'name' ? `${target.host} resolves to ${first || 'nothing'}, ${why}` : `${first} is ${why}`;
    return { ok: false, status: 403, reason, decision: { allow: false, rule: 'address:not-public', by: 'policy' } };
  }

  /**
   * The agent asked ahead for `target`, with a reason (tasks/access-requests.ts): a host its policy
   * already allows is answered at once; otherwise a person is asked as for a request that waits
   * (same limits, joining, refused-stays-refused). 'once' lets the task's next request there through.
   */
  async requestAccess(network: GatewayTask, target: Target, reason: string): Promise<AccessAnswer> {
    const named = decideName(network.policy, target, network.approved);
    if (named.verdict === 'allow') return { decision: 'task', by: 'policy', message: `${formatTarget(target)} is already allowed for this task (${named.decision.rule})` };
    // What no answer can grant is never put to a person: an approval that changes nothing misleads them.
    const ungrantable = this.#ungrantable(target);
    if (ungrantable) {
      this.#events.bus.emit({
        task: network.task, agent: network.agentRef, actor: 'airlock', kind: 'net.denied', decision: { allow: false, rule: ungrantable.rule, by: 'policy' },
        data: { host: target.host, port: target.port, reason: ungrantable.message, via: 'access-request', subject: 'host', agentReason: reason },
      });
      return { decision: 'deny', by: 'policy', message: ungrantable.message };
    }
    const { verdict, given, owner } = await this.#ask(network, target, { reason });
    if (verdict.verdict === 'deny') return { decision: 'deny', by: verdict.decision.by === 'user' ? 'user' : 'default', message: `${verdict.reason}.` };
    if (given === 'once' && owner) network.allowedOnce.add(exactHostPattern(target).text);
    return { decision: given ?? 'once', by: 'user', message: given === 'once' ? `a person allowed one request (or tunnel) to ${formatTarget(target)}` : `a person allowed ${formatTarget(target)} for this task` };
  }

  /** A host an access request cannot be answered for: Airlock's own API, or an address only a manifest's `local` rule opens. */
  #ungrantable(target: Target): { rule: string; message: string } | undefined {
    if (target.host === SANDBOX_API_HOST) return { rule: 'access:airlock-api', message: `${SANDBOX_API_HOST} is Airlock's own API for this sandbox, always reachable at http://${SANDBOX_API_HOST}: there is nothing to grant` };
    const why = target.kind === 'name' ? undefined : this.#refused(target.host);
    if (why) return { rule: 'address:not-public', message: `${formatTarget(target)} is ${why}: no answer to an access request can open it (only a network.local rule for exactly this host and port in the manifest does)` };
    return undefined;
  }

  async #ask(network: GatewayTask, target: Target, access?: { reason: string }): Promise<{ verdict: Exclude<NameVerdict, { verdict: 'ask' }>; given?: ApprovalAnswer; owner?: boolean }> {
    const ticket = this.#approvals.request(network.task, target.host, target.port, network.policy.askTimeoutMs, access ? { access } : {});
    if (ticket.kind === 'refused') {
      return { verdict: { verdict: 'deny', decision: { allow: false, rule: 'ask:deny', by: 'user' }, reason: `a person refused ${formatTarget(target)} earlier in this task` } };
    }
    if (ticket.kind === 'limited') {
      const decision: Decision = { allow: false, rule: 'ask:limit', by: 'default' };
      if (ticket.burst) this.#events.bus.emit({ task: network.task, agent: network.agentRef, actor: 'airlock', kind: 'approval.burst', decision, data: { host: target.host, port: target.port, reason: ticket.reason, ...viaAccess(access) } });
      return { verdict: { verdict: 'deny', decision, reason: `${formatTarget(target)} was not asked about: ${ticket.reason}` } };
    }
    const { request, answer } = ticket;
    // A request that joined an ask already waiting shares its answer; the ask's owner records it and keeps the rule.
    const owner = ticket.kind === 'asked';
    if (owner) this.#events.bus.emit({ task: network.task, agent: network.agentRef, actor: 'airlock', kind: 'approval.requested', data: { id: request.id, host: target.host, port: target.port, expiresAt: new Date(request.expiresAt).toISOString(), ...viaAccess(access) } });
    const outcome = await answer;
    const { answer: given, by } = outcome;
    const allow = given !== 'deny';
    const { rule, why } = answerRule(outcome);
    const decision: Decision = { allow, rule, by };
    if (owner) this.#events.bus.emit({ task: network.task, agent: network.agentRef, actor: by === 'user' ? 'user' : 'airlock', kind: 'approval.decided', decision, data: { id: request.id, host: target.host, port: target.port, answer: given, ...(why ? { why } : {}), ...viaAccess(access) } });
    if (!allow) return { verdict: { verdict: 'deny', decision, reason: outcome.unattended ? `${formatTarget(target)} was not asked about: ${NO_PERSON}` : by === 'default' ? `nobody allowed ${formatTarget(target)} in time` : `a person refused ${formatTarget(target)}` } };
    if (owner && (given === 'task' || given === 'always')) {
      // The checked host itself becomes the rule: its text is never read again as a pattern.
      const rule = exactHostPattern(target);
      network.approved.push(rule);
      if (given === 'always') network.onAlways?.(rule.text);
    }
    return { verdict: { verdict: 'allow', decision, local: false }, given, owner };
  }
}

/** The answer to an access request, as the agent reads it (JSON). `by: 'policy'`: no person was needed. */
export interface AccessAnswer {
  decision: ApprovalAnswer;
  by: 'user' | 'default' | 'policy';
  message: string;
}

/** What an access request adds to its approval events (I17 shapes: via, subject, reason). */
function viaAccess(access: { reason: string } | undefined): Record<string, string> {
  return access ? { via: 'access-request', subject: 'host', reason: access.reason } : {};
}
