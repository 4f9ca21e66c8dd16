import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBudgetValue } from '../../../main/core/spend/budget.js';
import { costOf, dearestCostOf, loadPrices, pricesReader } from '../../../main/core/spend/prices.js';
import { REPO, tempDir } from '../../helpers/env.js';

const ASSETS = path.join(REPO, 'assets');
const usage = (model: string | undefined, inputTokens: number, outputTokens: number, cachedTokens = 0) => ({ model, inputTokens, outputTokens, cachedTokens });

describe('--budget values', () => {
  it('reads dollars, tokens (k, m) and requests', () => {
    expect(parseBudgetValue('2usd')).toEqual({ usd: 2 });
    expect(parseBudgetValue('$0.5')).toEqual({ usd: 0.5 });
    expect(parseBudgetValue('100ktokens')).toEqual({ tokens: 100_000 });
    expect(parseBudgetValue('2Mtokens')).toEqual({ tokens: 2_000_000 });
    expect(parseBudgetValue('50requests')).toEqual({ requests: 50 });
  });
  it('refuses zero, negative, huge and unknown units, naming the flag', () => {
    for (const bad of ['0usd', '-1usd', '1e9usd', '5', '10 eur', 'NaNusd', '99999999999999ktokens', '1.5requests']) {
      expect(() => parseBudgetValue(bad), bad).toThrow(/--budget: '.*' is not a budget/);
    }
  });
});

describe('the price table', () => {
  it('prices a dated model by the longest name it starts with, cached tokens at the cached price', () => {
    const table = loadPrices(ASSETS, tempDir());
    // claude-sonnet-4: $3 in, $15 out, $0.30 cached per million.
    expect(costOf(table, 'anthropic', usage('claude-sonnet-4-5-20250929', 1_000_000, 100_000, 500_000))).toBeCloseTo(1.5 + 0.15 + 1.5, 9);
    expect(costOf(table, 'openai', usage('gpt-5-mini-2025-08-07', 1_000_000, 0))).toBeCloseTo(0.25, 9);
    expect(costOf(table, 'openai', usage('unheard-of', 10, 10))).toBeNull();
    expect(costOf(table, 'gemini', usage(undefined, 10, 10))).toBeNull();
    // An unpriced model is charged at the provider's dearest price: it cannot spend a budget unseen.
    expect(dearestCostOf(table, 'anthropic', usage('claude-next', 1_000_000, 1_000_000))).toBe(15 + 75);
  });
  it('takes AIRLOCK_HOME/prices.json over the built-in table, model by model, and says where each comes from', () => {
    const home = tempDir();
    fs.writeFileSync(path.join(home, 'prices.json'), JSON.stringify({ updated: '2030-01-01', models: { openai: { 'gpt-5': { input: 9, output: 9 }, 'corp-model': { input: 1, output: 2 } } } }));
    const table = loadPrices(ASSETS, home);
    expect(table.sources.map((s) => [path.basename(s.file), s.updated ?? null, s.models > 0])).toEqual([['prices.json', expect.any(String), true], ['prices.json', '2030-01-01', true]]);
    expect(table.prices.openai['gpt-5']).toEqual({ input: 9, output: 9, from: path.join(home, 'prices.json') });
    expect(costOf(table, 'openai', usage('corp-model', 1_000_000, 1_000_000))).toBe(3);
    expect(table.prices.openai['gpt-4o']?.from).toBe(path.join(ASSETS, 'spend', 'prices.json'));
  });
  it('refuses a damaged user table by name; the engine keeps the built-in one meanwhile and says so once', () => {
    const home = tempDir();
    const file = path.join(home, 'prices.json');
    for (const [text, problem] of [['{', /not JSON/], [JSON.stringify({ models: { openai: { x: { input: -1, output: 1 } } } }), /models\.openai\.x\.input/], [JSON.stringify({ models: { mistral: {} } }), /mistral/]] as const) {
      fs.writeFileSync(file, text);
      expect(() => loadPrices(ASSETS, home)).toThrow(problem);
    }
    const reported: string[] = [];
    const read = pricesReader(ASSETS, home, (message) => reported.push(message));
    expect(read().prices.openai['gpt-4o']).toBeDefined();
    read();
    expect(reported).toHaveLength(1);
  });
});
