// `{"credential": "<name>", "reason": "..."}` on the in-sandbox API: the agent asks a person to be
// lent a credential while it runs. Only proxy delivery (the sandbox gets a placeholder, never the
// secret), only for a task that already trusts a task CA (its tools read the CA when they start),
// only a credential the store has whose hosts the task's network allows (the checks made at start),
// and only for what a person answers: once (one use) or for the task, never "always".
import type { EventBus } from '../audit/bus.js';
import type { AgentRef } from '../audit/events.js';
import type { Clock } from '../clock.js';
import type { CredentialStore } from '../credentials/store.js';
import { isAirlockError } from '../errors.js';
import { answerRule, NO_PERSON, type Approvals, type CredentialAskDetail } from '../gateway/approvals.js';
import { formatDuration } from '../policy/units.js';
import type { AccessReply, CredentialAnswer } from './access-requests.js';
import { DEFAULT_TTL_MS, grantHosts, type TaskCredentials } from './grants.js';
import type { NetworkSpec } from './network-spec.js';
import { checkGrantRequests } from './task-credentials.js';

/** A grant shorter than this is not worth a person's click: refused instead. */
const MIN_LENT_TTL_MS = 1_000;

export interface CredentialLending {
  task: string;
  agent: AgentRef;
  bus: EventBus;
  clock: Clock;
  store: CredentialStore | undefined;
  /** The task's grants (and its CA); undefined when it was started without one. */
  credentials: TaskCredentials | undefined;
  network: NetworkSpec;
  approvals: Approvals;
  askTimeoutMs: number;
  /** When the task is stopped at the latest (clock ms): a grant lent now never outlives it. */
  deadline: number;
}

/** Answers the agent's request for credential `name` (already checked as a name), for `reason` (capped, escaped). */
export async function lendCredential(name: string, reason: string, lending: CredentialLending): Promise<AccessReply> {
  const { credentials, store } = lending;
  if (!credentials?.ca || !store) {
    return {
      status: 409,
      body: { error: `this task was started without a task CA, so nothing lent now could be used (its tools read the CA when they start): start it with the credential instead, \`airlock run --cred ${name}\` or \`credentials: [{ name: ${name} }]\` in the manifest` },
    };
  }
  const refuse = (message: string): AccessReply => {
    lending.bus.emit({
      task: lending.task, agent: lending.agent, actor: 'airlock', kind: 'cred.denied', decision: { allow: false, rule: 'access:credential', by: 'policy' },
      data: { credential: name, reason: message, via: 'access-request', subject: 'credential', agentReason: reason },
    });
    return { status: 200, body: { decision: 'deny', by: 'policy', message } };
  };
  const held = credentials.grants().find((g) => g.credential === name && g.state === 'active' && g.delivery === 'proxy' && g.env !== '');
  if (held) return { status: 200, body: { decision: 'task', by: 'policy', message: `this task already holds ${name}: its placeholder is in $${held.env}` } };
  let detail: CredentialAskDetail;
  let info: ReturnType<CredentialStore['get']>;
  try {
    // The checks made at start: the credential exists and the task's network reaches every host of it.
    checkGrantRequests([{ credential: name, ttlMs: undefined, delivery: 'proxy', env: '' }], store, lending.network, 'access request');
    info = store.get(name);
    const ttlMs = Math.min(info.maxTtlMs, DEFAULT_TTL_MS, timeLeft(lending));
    if (ttlMs < MIN_LENT_TTL_MS) return refuse(tooLate(name));
    detail = { name, hosts: grantHosts({ credential: name }, info.hosts), ttlMs };
  } catch (error) {
    if (isAirlockError(error)) return refuse(error.message);
    throw error;
  }
  const asked = await askPerson(detail, reason, lending);
  if (asked.answer !== 'once' && asked.answer !== 'task') return { status: 200, body: { decision: 'deny', by: asked.by, message: `${asked.why}.` } };
  // Requests that joined one ask share its answer; "once" is one use, lent to the request that asked.
  if (asked.answer === 'once' && !asked.owner) return { status: 200, body: { decision: 'deny', by: 'user', message: `a person lent ${name} once, to this task's other request for it: ask again` } };
  // The person may have taken minutes: what the task and its CA have left is what is left now.
  const ttlMs = Math.min(detail.ttlMs, timeLeft(lending));
  if (ttlMs < MIN_LENT_TTL_MS) return refuse(tooLate(name));
  let lent: Awaited<ReturnType<TaskCredentials['lend']>>;
  try {
    lent = await credentials.lend({
      credential: name, hosts: detail.hosts, ttlMs,
      uses: asked.answer === 'once' ? 1 : undefined, secret: store.secret(name), inject: info.inject,
    });
  } catch (error) {
    if (isAirlockError(error)) return refuse(error.message);
    throw error;
  }
  lending.bus.redact(lending.task, [lent.redaction]);
  const answer: CredentialAnswer = {
    decision: asked.answer, by: 'user',
    message: `a person lent ${name} ${asked.answer === 'once' ? 'for one request' : 'for this task'}, for ${formatDuration(ttlMs)}: send the placeholder as you would the secret, to ${detail.hosts.join(', ')}`,
    placeholder: lent.placeholder, env: null, hosts: lent.grant.hosts, expiresAt: new Date(lent.grant.expiresAt).toISOString(),
  };
  return { status: 200, body: answer };
}

/** How long a grant lent now may live: never past the task's end, nor its CA's (whose certificates make the placeholder usable). */
function timeLeft(lending: CredentialLending): number {
  return Math.min(lending.credentials?.ca?.remainingMs() ?? 0, lending.deadline - lending.clock.now());
}

function tooLate(name: string): string {
  return `too little time is left (the task's or its CA's) to lend ${name}`;
}

/**
 * Puts the request before a person through the gateway's ask machinery (the CLI's prompt, the app's
 * Approvals): its limits, joining an ask already waiting, a refused credential not asked again,
 * nobody connected = denied at once. Recorded as `approval.requested` / `approval.decided`.
 */
async function askPerson(detail: CredentialAskDetail, reason: string, lending: CredentialLending): Promise<{ answer: string; by: 'user' | 'default'; why: string; owner?: boolean }> {
  const { task, agent, bus } = lending;
  const ticket = lending.approvals.request(task, `credential:${detail.name}`, 0, lending.askTimeoutMs, { credential: detail, access: { reason } });
  if (ticket.kind === 'refused') return { answer: 'deny', by: 'user', why: `a person refused ${detail.name} earlier in this task` };
  if (ticket.kind === 'limited') {
    const decision = { allow: false, rule: 'ask:limit', by: 'default' as const };
    if (ticket.burst) bus.emit({ task, agent, actor: 'airlock', kind: 'approval.burst', decision, data: { credential: detail.name, reason: ticket.reason } });
    return { answer: 'deny', by: 'default', why: `${detail.name} was not asked about: ${ticket.reason}` };
  }
  const owner = ticket.kind === 'asked';
  const about = { id: ticket.request.id, credential: detail.name, hosts: detail.hosts, ttlMs: detail.ttlMs, via: 'access-request', subject: 'credential', reason };
  if (owner) bus.emit({ task, agent, actor: 'airlock', kind: 'approval.requested', data: { ...about, expiresAt: new Date(ticket.request.expiresAt).toISOString() } });
  const outcome = await ticket.answer;
  // "Always" is no answer to a credential request (the UIs do not offer it): anything but once or task is a refusal.
  const answer = outcome.answer === 'once' || outcome.answer === 'task' ? outcome.answer : 'deny';
  const { rule, why } = answerRule({ ...outcome, answer });
  if (owner) {
    bus.emit({
      task, agent, actor: outcome.by === 'user' ? 'user' : 'airlock', kind: 'approval.decided',
      decision: { allow: answer !== 'deny', rule, by: outcome.by }, data: { ...about, answer, ...(why ? { why } : {}) },
    });
  }
  const refused = outcome.unattended ? `${detail.name} was not asked about: ${NO_PERSON}` : outcome.by === 'default' ? `nobody lent ${detail.name} in time` : `a person refused ${detail.name}`;
  return { answer, by: outcome.by, why: refused, owner };
}
