// The price table: USD per million input / output / cached tokens per provider and model. Airlock
// ships one (assets/spend/prices.json, with the date it was last checked); AIRLOCK_HOME/prices.json,
// in the same shape, overrides it model by model (a newer price, a company's rate, a model the
// built-in table lacks). A cost is an estimate: what the provider bills is the truth.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AirlockError } from '../errors.js';
import type { Provider } from './model-api.js';
import type { Usage } from './usage-reader.js';

const MAX_PRICE_FILE_BYTES = 1024 * 1024;
const price = z.number().finite().min(0).max(1_000_000);
const modelPrice = z.strictObject({ input: price, output: price, cached: price.optional() });
const priceFile = z.strictObject({
  updated: z.string().max(40).optional(),
  source: z.string().max(1000).optional(),
  models: z.strictObject({
    anthropic: z.record(z.string().max(100), modelPrice).optional(),
    openai: z.record(z.string().max(100), modelPrice).optional(),
    gemini: z.record(z.string().max(100), modelPrice).optional(),
  }),
});

export type ModelPrice = z.infer<typeof modelPrice>;

export interface PriceSource {
  file: string;
  updated: string | undefined;
  models: number;
}

export interface PriceTable {
  /** Where the prices come from, built-in first: a later one overrides an earlier one's models. */
  sources: PriceSource[];
  prices: Record<Provider, Record<string, ModelPrice & { from: string }>>;
}

export const BUILT_IN_PRICES = path.join('spend', 'prices.json');
export const USER_PRICES = 'prices.json';

/** The built-in table from `assetsDir` and the user's from `home` (if it has one). A damaged file is an error that names it. */
export function loadPrices(assetsDir: string, home: string): PriceTable {
  const table: PriceTable = { sources: [], prices: { anthropic: {}, openai: {}, gemini: {} } };
  for (const [file, required] of [[path.join(assetsDir, BUILT_IN_PRICES), true], [path.join(home, USER_PRICES), false]] as const) {
    const parsed = readPriceFile(file, required);
    if (!parsed) continue;
    let models = 0;
    for (const provider of ['anthropic', 'openai', 'gemini'] as const) {
      for (const [name, entry] of Object.entries(parsed.models[provider] ?? {})) {
        table.prices[provider][name] = { ...entry, from: file };
        models += 1;
      }
    }
    table.sources.push({ file, updated: parsed.updated, models });
  }
  return table;
}

function readPriceFile(file: string, required: boolean): z.infer<typeof priceFile> | undefined {
  let text: string;
  try {
    if (fs.statSync(file).size > MAX_PRICE_FILE_BYTES) throw new AirlockError('state_damaged', `${file}: larger than ${MAX_PRICE_FILE_BYTES / 1024} KiB, so not a price table`, 'keep only the models you need in it');
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof AirlockError) throw error;
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AirlockError('internal', `cannot read the price table ${file}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AirlockError('state_damaged', `${file}: not JSON (${(error as Error).message})`, 'fix it, or move it aside to use the built-in prices');
  }
  const result = priceFile.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new AirlockError('state_damaged', `${file}: ${issue.path.join('.') || '(top)'}: ${issue.message}`, 'write {"models": {"openai": {"gpt-5": {"input": 1.25, "output": 10, "cached": 0.125}}}} (USD per million tokens)');
  }
  return result.data;
}

/** A model's price: its exact name, else the longest listed name it starts with (dated versions). */
export function priceOf(table: PriceTable, provider: Provider, model: string | undefined): ModelPrice | undefined {
  if (model === undefined) return undefined;
  const prices = table.prices[provider];
  if (Object.hasOwn(prices, model)) return prices[model];
  let best: string | undefined;
  for (const name of Object.keys(prices)) {
    if (model.startsWith(name) && (best === undefined || name.length > best.length)) best = name;
  }
  return best === undefined ? undefined : prices[best];
}

/** The estimated cost in USD, or null when no price is known for the model. */
export function costOf(table: PriceTable, provider: Provider, usage: Usage): number | null {
  const found = priceOf(table, provider, usage.model);
  if (!found) return null;
  const cachedPrice = found.cached ?? found.input;
  return ((usage.inputTokens - usage.cachedTokens) * found.input + usage.cachedTokens * cachedPrice + usage.outputTokens * found.output) / 1e6;
}

/**
 * What a call to a model the table does not price is charged against a USD budget: the provider's
 * dearest listed price (fail closed: an unknown model cannot spend a budget unseen).
 */
export function dearestCostOf(table: PriceTable, provider: Provider, usage: Usage): number {
  let input = 0;
  let output = 0;
  for (const entry of Object.values(table.prices[provider])) {
    input = Math.max(input, entry.input);
    output = Math.max(output, entry.output);
  }
  return (usage.inputTokens * input + usage.outputTokens * output) / 1e6;
}

/**
 * The table as the engine reads it for each call: AIRLOCK_HOME/prices.json re-read when it changes;
 * a damaged one is reported once and the built-in table used meanwhile (a call is never lost to it).
 */
export function pricesReader(assetsDir: string, home: string, onDamaged: (message: string) => void = () => undefined): () => PriceTable {
  let cached: { stamp: string; table: PriceTable } | undefined;
  let reported: string | undefined;
  return () => {
    let stamp = 'none';
    try {
      const stat = fs.statSync(path.join(home, USER_PRICES));
      stamp = `${stat.mtimeMs}:${stat.size}`;
    } catch {
      // no user table
    }
    if (cached?.stamp === stamp) return cached.table;
    let table: PriceTable;
    try {
      table = loadPrices(assetsDir, home);
    } catch (error) {
      const message = (error as Error).message;
      if (reported !== message) onDamaged(message);
      reported = message;
      try {
        table = loadPrices(assetsDir, path.join(assetsDir, 'no-user-prices'));
      } catch {
        table = { sources: [], prices: { anthropic: {}, openai: {}, gemini: {} } };
      }
    }
    cached = { stamp, table };
    return table;
  };
}
