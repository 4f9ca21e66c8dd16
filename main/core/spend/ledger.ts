// Spend per task and per delegation chain. Every model call a task makes counts against its own
// budget and every ancestor's: a child's spend comes out of what its parent (and theirs) has left,
// so a chain can never spend more than its root allows, however it delegates.
import type { EventBus } from '../audit/bus.js';
import type { AgentRef } from '../audit/events.js';
import type { ExchangeMeter, SpendPort } from '../gateway/task-state.js';
import { type Budget, type BudgetRule, describeSpend, exceededLimit, NO_SPEND, reachedLimit, type Spend } from './budget.js';
import { isRealtimeSession, recogniseModelCall } from './model-api.js';
import type { PriceTable } from './prices.js';
import { RepeatWatch } from './repeats.js';
import { CallMeter } from './call-meter.js';

export interface Account {
  task: string;
  agent: AgentRef;
  parent: Account | undefined;
  root: Account;
  budget: Budget;
  /** This task's own calls. */
  own: Spend;
  /** Its own and all its descendants' calls: what its budget is checked against. */
  total: Spend;
  /** Budget rules already reported as violations (each once). */
  reported: Set<string>;
  /** The chain's repeated-request watch (held by the root, shared below it). */
  repeats: RepeatWatch;
  maxRepeats: number;
}

export interface SpendLedgerDeps {
  bus: EventBus;
  /** The price table, read when a call's usage is known (AIRLOCK_HOME/prices.json may change). */
  prices: () => PriceTable;
}

export class SpendLedger {
  readonly #deps: SpendLedgerDeps;
  readonly #accounts = new Map<string, Account>();

  constructor(deps: SpendLedgerDeps) {
    this.#deps = deps;
  }

  /** A task's account, under its parent's when it has one; `close()` when the task ends. */
  open(options: { task: string; agent: AgentRef; parent: string | undefined; budget: Budget; maxRepeats: number }): SpendPort & { close(): void; account: Account } {
    const parent = options.parent ? this.#accounts.get(options.parent) : undefined;
    const account: Account = {
      task: options.task, agent: options.agent, parent, root: undefined as unknown as Account, budget: options.budget,
      own: { ...NO_SPEND }, total: { ...NO_SPEND }, reported: new Set(), repeats: parent?.repeats ?? new RepeatWatch(), maxRepeats: options.maxRepeats,
    };
    account.root = parent?.root ?? account;
    this.#accounts.set(options.task, account);
    return {
      account,
      admit: (request) => this.#admit(account, request),
      close: () => this.#accounts.delete(options.task),
    };
  }

  #admit(account: Account, request: { host: string; port: number; method: string; path: string }): ReturnType<SpendPort['admit']> {
    if (isRealtimeSession(request.path)) return this.#unmetered(account, request.path);
    const call = recogniseModelCall(request.method, request.path);
    if (!call) return undefined;
    for (let owner: Account | undefined = account; owner; owner = owner.parent) {
      const rule = reachedLimit(owner.total, owner.budget);
      if (!rule) continue;
      const whose = owner === account ? 'this task\'s budget' : `the budget of ${owner.agent.name} (${owner.task}), which this task's spend comes out of,`;
      const reason = `${whose} is spent (${describeSpend(owner.total)} of ${describeSpend(owner.budget)})`;
      this.#violation(owner, rule, `a model call was refused: ${reason}`);
      return {
        refused: {
          status: 429, rule, reason,
          body: JSON.stringify({ error: 'airlock_budget', message: `Airlock refused this model call: ${reason}. Ask the person who started the task for a larger budget.`, spent: owner.total, budget: owner.budget }),
        },
      };
    }
    this.#add(account, { ...NO_SPEND, requests: 1 });
    const meter: ExchangeMeter = new CallMeter(call, request, {
      prices: this.#deps.prices,
      onRepeat: (digest) => {
        const count = account.repeats.count(digest);
        if (count > account.maxRepeats) this.#violation(account, 'loop.model', `the same model request (${request.method} ${request.host}${request.path}, same body) was sent ${count} times on this chain (loops.maxRepeats: ${account.maxRepeats})`, digest);
      },
      onUsage: (usage) => {
        this.#add(account, { tokens: usage.inputTokens + usage.outputTokens, usd: usage.chargedUsd, requests: 0 });
        this.#deps.bus.emit({
          task: account.task, agent: account.agent, actor: 'airlock', kind: 'model.usage',
          data: {
            provider: call.provider, model: usage.model ?? null, host: request.host, path: request.path,
            inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, cachedTokens: usage.cachedTokens, costUsd: usage.costUsd,
            ...(usage.costUsd === null ? { chargedUsd: usage.chargedUsd } : {}),
            ...(usage.malformed ? { malformed: usage.malformed } : {}),
            ...(usage.estimated ? { estimated: true } : {}),
            totals: { task: { ...account.own }, chain: { ...account.root.total } },
          },
        });
        for (let owner: Account | undefined = account; owner; owner = owner.parent) {
          const rule = exceededLimit(owner.total, owner.budget);
          if (rule) this.#violation(owner, rule, `${owner === account ? 'this task' : `the chain below ${owner.agent.name} (${owner.task})`} spent ${describeSpend(owner.total)}, over its budget of ${describeSpend(owner.budget)}`);
        }
      },
    });
    return { meter };
  }

  /** A realtime session spends in frames Airlock does not read: refused under any budget, passed (unmetered) without one. */
  #unmetered(account: Account, path: string): ReturnType<SpendPort['admit']> {
    let owner: Account | undefined = account;
    while (owner && Object.values(owner.budget).every((limit) => limit === undefined)) owner = owner.parent;
    if (!owner) return undefined;
    const whose = owner === account ? 'this task has a budget' : `this task spends out of the budget of ${owner.agent.name} (${owner.task})`;
    const reason = `${path.split('?')[0]} opens a realtime session, whose spend Airlock cannot meter, and ${whose}`;
    return {
      refused: {
        status: 429, rule: 'budget.unmetered', reason,
        body: JSON.stringify({ error: 'airlock_budget', message: `Airlock refused this model call: ${reason}. Use the provider's request API (metered) instead.`, spent: owner.total, budget: owner.budget }),
      },
    };
  }

  #add(account: Account, spend: Spend): void {
    for (const field of ['tokens', 'usd', 'requests'] as const) account.own[field] += spend[field];
    for (let owner: Account | undefined = account; owner; owner = owner.parent) {
      for (const field of ['tokens', 'usd', 'requests'] as const) owner.total[field] += spend[field];
    }
  }

  /** A violation on the task whose budget (or loop rule) it is, once per rule (per request kind for loops). */
  #violation(owner: Account, rule: BudgetRule | 'loop.model', reason: string, key: string = rule): void {
    if (owner.reported.has(key)) return;
    owner.reported.add(key);
    this.#deps.bus.emit({
      task: owner.task, agent: owner.agent, actor: 'airlock', kind: 'policy.violation',
      decision: { allow: false, rule, by: 'policy' },
      data: { rule, reason, spent: { ...owner.total }, budget: owner.budget },
    });
  }
}
