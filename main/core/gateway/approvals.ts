import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';

export type ApprovalAnswer = 'once' | 'task' | 'always' | 'deny';

export interface ApprovalRequest {
  id: string;
  task: string;
  host: string;
  port: number;
  /** When an unanswered request is denied. */
  expiresAt: number;
  /** An MCP tool call held for a person (main/core/mcp): `host` is then a key, not a host. */
  mcp?: McpAskDetail;
  /** A credential the agent asked to be lent (tasks/credential-requests.ts): `host` is then a key, not a host. */
  credential?: CredentialAskDetail;
  /** Set when the agent asked ahead, on the in-sandbox API: its reason (hostile text, capped; shown escaped). */
  access?: { reason: string };
}

/** What a person sees of a held tool call: the server, the tool, its arguments (redacted, capped), and whether its description changed. */
export interface McpAskDetail {
  server: string;
  tool: string;
  arguments: string;
  changed: boolean;
}

/** What a person sees of a credential asked for: its name, the hosts it would work for, and for how long. */
export interface CredentialAskDetail {
  name: string;
  hosts: string[];
  ttlMs: number;
}

/** `unattended`: denied at once because no connected client answers asks of the task (nobody would see it). */
export type ApprovalOutcome = { answer: ApprovalAnswer; by: 'user' | 'default'; unattended?: true };

/** Why an ask of a task nobody answers for is denied at once. */
export const NO_PERSON = 'no person is connected to answer';

/**
 * The rule an answer is recorded under (`ask:once`…, `ask:deny` by a person, `ask:timeout` when
 * nobody answered in time, `ask:unattended` when nobody was there to ask) and, for the last,
 * why, as the log says it.
 */
export function answerRule(outcome: ApprovalOutcome): { rule: string; why?: string } {
  if (outcome.answer !== 'deny') return { rule: `ask:${outcome.answer}` };
  if (outcome.by === 'user') return { rule: 'ask:deny' };
  return outcome.unattended ? { rule: 'ask:unattended', why: NO_PERSON } : { rule: 'ask:timeout' };
}

/** How many asks one task may put before a person: more is a burst, denied without asking. */
export interface AskLimits {
  /** Asks of one task waiting at once (each for another host:port). */
  maxPending: number;
  /** New asks of one task within a minute. */
  perMinute: number;
}

export const DEFAULT_ASK_LIMITS: AskLimits = { maxPending: 5, perMinute: 20 };

const MINUTE_MS = 60_000;

/**
 * What became of a request to ask: a new ask (`asked`), the answer of one already waiting for the
 * same task, host and port (`joined`: nobody is asked twice), or none, over the task's limits
 * (`limited`; `burst` on the first refusal of a burst, which is recorded once).
 */
export type AskTicket =
  | { kind: 'asked' | 'joined'; request: ApprovalRequest; answer: Promise<ApprovalOutcome> }
  | { kind: 'limited'; reason: string; burst: boolean }
  /** A person already refused this host and port for this task: not asked again. */
  | { kind: 'refused' };

interface Pending extends ApprovalRequest {
  answer: Promise<ApprovalOutcome>;
  settle(answer: ApprovalAnswer, by: 'user' | 'default'): void;
}

/** A task's recent asks: when each was made, and whether it is over its limits now. */
interface TaskAsks {
  times: number[];
  bursting: boolean;
  /** `host:port`s a person refused: asking again would only wear them down until one click says yes. */
  refused: Set<string>;
}

/**
 * Requests to hosts outside the allowlist, held until a person answers (the CLI's prompt, the
 * app's notification) or the time runs out, which denies. Per task, the same host and port is
 * asked once however many requests wait for it, and asks are limited (AskLimits): an agent cannot
 * bury the person in prompts until one is clicked by mistake.
 */
export class Approvals {
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #limits: AskLimits;
  readonly #pending = new Map<string, Pending>();
  readonly #asks = new Map<string, TaskAsks>();
  readonly #listeners = new Set<(request: ApprovalRequest) => void>();
  /** Whether a person can be asked about a task now (service/attendance.ts); unset: always. */
  #attended: (task: string) => boolean = () => true;

  constructor(clock: Clock, timeoutMs: number, limits: Partial<AskLimits> = {}) {
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
    this.#limits = { ...DEFAULT_ASK_LIMITS, ...limits };
  }

  /** From now on an ask of a task `attended` says nobody answers for is denied at once (by the default). */
  askOnlyWhenAttended(attended: (task: string) => boolean): void {
    this.#attended = attended;
  }

  /** Asks (or joins the ask already waiting); the answer resolves 'deny' by 'default' when nobody answers in time. */
  request(task: string, host: string, port: number, timeoutMs = this.#timeoutMs, detail: { mcp?: McpAskDetail; credential?: CredentialAskDetail; access?: { reason: string } } = {}): AskTicket {
    const { mcp, credential, access } = detail;
    const waiting = [...this.#pending.values()].find((p) => p.task === task && p.host === host && p.port === port);
    if (waiting) return { kind: 'joined', request: withoutInternals(waiting), answer: waiting.answer };
    if (this.#asks.get(task)?.refused.has(`${host}:${port}`)) return { kind: 'refused' };
    const limited = this.#overLimit(task);
    if (limited) return limited;
    const id = randomUUID();
    const request: ApprovalRequest = { id, task, host, port, expiresAt: this.#clock.now() + timeoutMs, ...(mcp ? { mcp } : {}), ...(credential ? { credential } : {}), ...(access ? { access } : {}) };
    // Nobody would see it: answered now, as the default, and nothing is left waiting (nor remembered as refused).
    if (!this.#attended(task)) return { kind: 'asked', request, answer: Promise.resolve({ answer: 'deny', by: 'default', unattended: true }) };
    let settle: Pending['settle'] = () => undefined;
    const answer = new Promise<ApprovalOutcome>((resolve) => {
      const timer = this.#clock.setTimeout(() => settle('deny', 'default'), timeoutMs);
      settle = (value, by) => {
        if (!this.#pending.delete(id)) return;
        timer.cancel();
        if (value === 'deny' && by === 'user') this.#asks.get(task)?.refused.add(`${host}:${port}`);
        resolve({ answer: value, by });
      };
    });
    this.#pending.set(id, { ...request, answer, settle });
    for (const listener of this.#listeners) listener(request);
    return { kind: 'asked', request, answer };
  }

  /** Counts a new ask of `task` against its limits; the refusal when it is over one. */
  #overLimit(task: string): Extract<AskTicket, { kind: 'limited' }> | undefined {
    const asks = this.#asks.get(task) ?? { times: [], bursting: false, refused: new Set<string>() };
    this.#asks.set(task, asks);
    const now = this.#clock.now();
    asks.times = asks.times.filter((time) => now - time < MINUTE_MS);
    const pending = this.pending(task).length;
    const reason = pending >= this.#limits.maxPending
      ? `${pending} asks of this task are already waiting for a person (at most ${this.#limits.maxPending})`
      : asks.times.length >= this.#limits.perMinute ? `this task asked about ${asks.times.length} hosts within a minute (at most ${this.#limits.perMinute})` : undefined;
    if (reason) {
      const burst = !asks.bursting;
      asks.bursting = true;
      return { kind: 'limited', reason, burst };
    }
    asks.bursting = false;
    asks.times.push(now);
    return undefined;
  }

  /** A person's answer; false when the request is no longer waiting. */
  answer(id: string, answer: ApprovalAnswer): boolean {
    const pending = this.#pending.get(id);
    if (!pending) return false;
    pending.settle(answer, 'user');
    return true;
  }

  /**
   * Denies a request no person can answer (the CLI without a terminal): recorded as the default's
   * answer, not a person's, so it neither reads as "a person refused" nor sticks for the task.
   */
  denyUnasked(id: string): boolean {
    const pending = this.#pending.get(id);
    if (!pending) return false;
    pending.settle('deny', 'default');
    return true;
  }

  pending(task?: string): ApprovalRequest[] {
    return [...this.#pending.values()].filter((p) => !task || p.task === task).map(withoutInternals);
  }

  onRequest(listener: (request: ApprovalRequest) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Denies everything a finished task was waiting for. */
  cancelTask(task: string): void {
    for (const pending of [...this.#pending.values()]) if (pending.task === task) pending.settle('deny', 'default');
    this.#asks.delete(task);
  }
}

function withoutInternals({ id, task, host, port, expiresAt, mcp, credential, access }: Pending): ApprovalRequest {
  return { id, task, host, port, expiresAt, ...(mcp ? { mcp } : {}), ...(credential ? { credential } : {}), ...(access ? { access } : {}) };
}
