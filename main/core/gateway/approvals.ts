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
}

interface Pending extends ApprovalRequest {
  settle(answer: ApprovalAnswer, by: 'user' | 'default'): void;
}

/**
 * Requests to hosts outside the allowlist, held until a person answers (the CLI's prompt, the
 * app's notification) or the time runs out, which denies.
 */
export class Approvals {
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #pending = new Map<string, Pending>();
  readonly #listeners = new Set<(request: ApprovalRequest) => void>();

  constructor(clock: Clock, timeoutMs: number) {
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
  }

  /** Resolves with the answer and who gave it; 'deny' by 'default' when nobody answers in time. */
  request(task: string, host: string, port: number, timeoutMs = this.#timeoutMs): { request: ApprovalRequest; answer: Promise<{ answer: ApprovalAnswer; by: 'user' | 'default' }> } {
    const id = randomUUID();
    const request: ApprovalRequest = { id, task, host, port, expiresAt: this.#clock.now() + timeoutMs };
    const answer = new Promise<{ answer: ApprovalAnswer; by: 'user' | 'default' }>((resolve) => {
      const timer = this.#clock.setTimeout(() => settle('deny', 'default'), timeoutMs);
      const settle = (value: ApprovalAnswer, by: 'user' | 'default') => {
        if (!this.#pending.delete(id)) return;
        timer.cancel();
        resolve({ answer: value, by });
      };
      this.#pending.set(id, { ...request, settle });
    });
    for (const listener of this.#listeners) listener(request);
    return { request, answer };
  }

  /** A person's answer; false when the request is no longer waiting. */
  answer(id: string, answer: ApprovalAnswer): boolean {
    const pending = this.#pending.get(id);
    if (!pending) return false;
    pending.settle(answer, 'user');
    return true;
  }

  pending(task?: string): ApprovalRequest[] {
    return [...this.#pending.values()].filter((p) => !task || p.task === task).map(({ settle: _settle, ...request }) => request);
  }

  onRequest(listener: (request: ApprovalRequest) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Denies everything a finished task was waiting for. */
  cancelTask(task: string): void {
    for (const pending of [...this.#pending.values()]) if (pending.task === task) pending.settle('deny', 'default');
  }
}
