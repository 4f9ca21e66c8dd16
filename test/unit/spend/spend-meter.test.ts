import { describe, expect, it } from 'vitest';
import type { WireEvent } from '../../../preload/contract.js';
import { formatUsd, taskSpend } from '../../../main/core/text/spend-display.js';

const event = (seq: number, kind: string, data: Record<string, unknown>): WireEvent => ({ v: 1, seq, time: '2030-01-01T00:00:00.000Z', task: 't_x', agent: { name: 'a', digest: 'sha256:0' }, actor: 'airlock', kind, data }) as WireEvent;

describe('the task page\'s spend meter', () => {
  it('shows the latest totals of the task and its chain against the budget of task.created', () => {
    const events = [
      event(1, 'task.created', { budget: { tokens: 100, usd: 2 } }),
      event(2, 'model.usage', { totals: { task: { tokens: 20, usd: 0.1, requests: 1 }, chain: { tokens: 20, usd: 0.1, requests: 1 } } }),
      event(3, 'net.request', {}),
      event(4, 'model.usage', { totals: { task: { tokens: 40, usd: 0.2, requests: 2 }, chain: { tokens: 90, usd: 0.5, requests: 4 } } }),
    ];
    expect(taskSpend(events)).toEqual({ task: { tokens: 40, usd: 0.2, requests: 2 }, chain: { tokens: 90, usd: 0.5, requests: 4 }, budget: { tokens: 100, usd: 2 } });
  });
  it('reads forged or damaged figures as absent, never as numbers', () => {
    const events = [
      event(1, 'task.created', { budget: { tokens: -5, usd: 'lots', requests: Infinity } }),
      event(2, 'model.usage', { totals: { task: { tokens: '1e9', usd: 1, requests: 1 }, chain: null } }),
    ];
    expect(taskSpend(events)).toEqual({ task: undefined, chain: undefined, budget: undefined });
    expect(taskSpend([])).toEqual({ task: undefined, chain: undefined, budget: undefined });
  });
  it('writes small costs to the hundredth of a cent', () => {
    expect([formatUsd(0), formatUsd(0.00078), formatUsd(1.5)]).toEqual(['$0.00', '$0.0008', '$1.50']);
  });
});
