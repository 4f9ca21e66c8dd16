// Budgets: what a task (and, counting its descendants, its chain below it) may spend on model calls.
import { AirlockError } from '../errors.js';

export interface Spend {
  tokens: number;
  usd: number;
  requests: number;
}

export type Budget = Partial<Spend>;
export type BudgetRule = 'budget.tokens' | 'budget.usd' | 'budget.requests';

export const NO_SPEND: Spend = { tokens: 0, usd: 0, requests: 0 };
/** The largest budget one can give (any larger is a typo, not a budget). */
export const MAX_BUDGET: Spend = { tokens: 1e12, usd: 1e6, requests: 1e9 };

/** The same model request (method, path, body) this many times on one chain is a loop, unless the manifest says otherwise. */
export const DEFAULT_MAX_REPEATS = 10;

/**
 * One `--budget` value: `2usd`, `$2`, `0.5usd`; `100ktokens`, `2mtokens`, `5000tokens`;
 * `50requests`. Several combine (`--budget 2usd --budget 100ktokens`).
 */
export function parseBudgetValue(text: string): Budget {
  const refuse = () => new AirlockError('bad_argument', `--budget: '${text}' is not a budget`, 'write e.g. --budget 2usd, --budget 100ktokens or --budget 50requests');
  const dollars = /^\$(\d+(?:\.\d+)?)$/.exec(text) ?? /^(\d+(?:\.\d+)?)\s*usd$/i.exec(text);
  if (dollars) return { usd: within(Number(dollars[1]), MAX_BUDGET.usd, refuse) };
  const tokens = /^(\d+(?:\.\d+)?)\s*([km]?)tokens?$/i.exec(text);
  if (tokens) {
    const scale = { '': 1, k: 1e3, m: 1e6 }[tokens[2]!.toLowerCase() as '' | 'k' | 'm'];
    return { tokens: Math.round(within(Number(tokens[1]) * scale, MAX_BUDGET.tokens, refuse)) };
  }
  const requests = /^(\d+)\s*requests?$/i.exec(text);
  if (requests) return { requests: within(Number(requests[1]), MAX_BUDGET.requests, refuse) };
  throw refuse();
}

function within(value: number, max: number, refuse: () => AirlockError): number {
  if (!Number.isFinite(value) || value <= 0 || value > max) throw refuse();
  return value;
}

/** The first limit of `budget` that `spent` has reached, or undefined. */
export function reachedLimit(spent: Spend, budget: Budget): BudgetRule | undefined {
  if (budget.usd !== undefined && spent.usd >= budget.usd) return 'budget.usd';
  if (budget.tokens !== undefined && spent.tokens >= budget.tokens) return 'budget.tokens';
  if (budget.requests !== undefined && spent.requests >= budget.requests) return 'budget.requests';
  return undefined;
}

/** The first limit `spent` has gone over (not merely reached), or undefined. */
export function exceededLimit(spent: Spend, budget: Budget): BudgetRule | undefined {
  if (budget.usd !== undefined && spent.usd > budget.usd) return 'budget.usd';
  if (budget.tokens !== undefined && spent.tokens > budget.tokens) return 'budget.tokens';
  return undefined;
}

export function describeSpend(spend: Budget): string {
  const parts: string[] = [];
  if (spend.usd !== undefined) parts.push(`$${spend.usd.toFixed(spend.usd < 0.01 ? 6 : 4).replace(/\.?0+$/, '')}`);
  if (spend.tokens !== undefined) parts.push(`${spend.tokens} tokens`);
  if (spend.requests !== undefined) parts.push(`${spend.requests} requests`);
  return parts.join(', ') || 'nothing';
}
