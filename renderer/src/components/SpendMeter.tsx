import type { WireEvent } from '../../../preload/contract';
import { formatUsd, share, taskSpend } from '../../../main/core/text/spend-display';

/** The task's model spend (tokens, USD, calls) against its budget; the chain's total beside it when it is part of one. */
export function SpendMeter({ events }: { events: readonly WireEvent[] }) {
  const { task, chain, budget } = taskSpend(events);
  if (!task && !budget) return null;
  const spent = task ?? { tokens: 0, usd: 0, requests: 0 };
  // A budget counts the task and everything it started: measured against the spend below it.
  const measured = chain ?? spent;
  const used = Math.max(share(measured.tokens, budget?.tokens) ?? 0, share(measured.usd, budget?.usd) ?? 0, share(measured.requests, budget?.requests) ?? 0);
  const tone = used >= 1 ? 'bad' : used >= 0.8 ? 'warn' : 'ok';
  const of = (limit: number | undefined, text: (n: number) => string) => (limit === undefined ? '' : ` of ${text(limit)}`);
  return (
    <span className={`spend-meter spend-${tone}`} data-spend title="Model usage read from the provider's answers; cost estimated from the price table (airlock prices)">
      <span className="spend-figures">
        {spent.tokens.toLocaleString()} tokens{of(budget?.tokens, (n) => n.toLocaleString())} · {formatUsd(spent.usd)}{of(budget?.usd, formatUsd)} · {spent.requests} calls{of(budget?.requests, String)}
      </span>
      {budget && <meter min={0} max={1} low={0.8} high={0.99} optimum={0} value={used} aria-label="share of the budget spent" />}
      {chain && (chain.tokens !== spent.tokens || chain.requests !== spent.requests) && <span className="muted small"> chain: {chain.tokens.toLocaleString()} tokens · {formatUsd(chain.usd)}</span>}
    </span>
  );
}
