// A task's model spend as a person reads it (the app's spend meter): the totals of its latest
// `model.usage` event (its own and its chain's) against the budget its `task.created` record names.
// Events come over the wire: any field that is not a plain count is read as absent.

/** What is read of an event (a core event or a wire one). */
interface SpendEvent {
  kind: string;
  data: Record<string, unknown>;
}

export interface SpendFigures {
  tokens: number;
  usd: number;
  requests: number;
}

export interface TaskSpend {
  task: SpendFigures | undefined;
  chain: SpendFigures | undefined;
  budget: Partial<SpendFigures> | undefined;
}

const count = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined);

function figures(value: unknown): SpendFigures | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const { tokens, usd, requests } = value as Record<string, unknown>;
  const read = { tokens: count(tokens), usd: count(usd), requests: count(requests) };
  return read.tokens === undefined || read.usd === undefined || read.requests === undefined ? undefined : (read as SpendFigures);
}

function budgetOf(value: unknown): Partial<SpendFigures> | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const out: Partial<SpendFigures> = {};
  for (const key of ['tokens', 'usd', 'requests'] as const) {
    const limit = count((value as Record<string, unknown>)[key]);
    if (limit !== undefined && limit > 0) out[key] = limit;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Reads from the end for the latest usage: a long log is not rescanned from its start. */
export function taskSpend(events: readonly SpendEvent[]): TaskSpend {
  let latest: SpendEvent | undefined;
  for (let i = events.length - 1; i >= 0 && !latest; i--) if (events[i]!.kind === 'model.usage') latest = events[i];
  const created = events.find((e) => e.kind === 'task.created');
  const totals = latest?.data.totals as Record<string, unknown> | undefined;
  return { task: figures(totals?.task), chain: figures(totals?.chain), budget: budgetOf(created?.data.budget) };
}

export function formatUsd(usd: number): string {
  return `$${usd < 0.01 && usd > 0 ? usd.toFixed(4) : usd.toFixed(2)}`;
}

/** How much of a limit is used, 0..1 (over 1 is shown full). */
export function share(spent: number, limit: number | undefined): number | undefined {
  return limit === undefined ? undefined : Math.min(1, spent / limit);
}
