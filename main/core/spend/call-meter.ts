// One model call as it passes through the gateway: its request's digest (for loops) and its
// response's usage (for spend), read as the bytes go by. Nothing here may throw into the relay.
import { createHash } from 'node:crypto';
import type { ExchangeMeter } from '../gateway/task-state.js';
import type { ModelCall } from './model-api.js';
import { costOf, dearestCostOf, type PriceTable } from './prices.js';
import { type Usage, usageReader, type UsageReader } from './usage-reader.js';

export interface PricedUsage extends Usage {
  /** The table's price, or null when it has none for the model. */
  costUsd: number | null;
  /** What counts against a USD budget: the cost, or the provider's dearest price when unknown. */
  chargedUsd: number;
}

export interface CallMeterHooks {
  /** Never throws (prices.ts: pricesReader). */
  prices: () => PriceTable;
  onRepeat(digest: string): void;
  onUsage(usage: PricedUsage): void;
}

export class CallMeter implements ExchangeMeter {
  readonly #call: ModelCall;
  readonly #hash = createHash('sha256');
  readonly #hooks: CallMeterHooks;
  #reader: UsageReader | undefined;
  #done = false;

  constructor(call: ModelCall, request: { method: string; host: string; port: number; path: string }, hooks: CallMeterHooks) {
    this.#call = call;
    this.#hooks = hooks;
    this.#hash.update(`${request.method} ${request.host}:${request.port}${request.path}\n`);
  }

  requestBody(chunk: Buffer): void {
    this.#hash.update(chunk);
  }

  response(status: number, contentType: string | undefined): void {
    // Only a successful answer carries usage the provider bills.
    if (status >= 200 && status < 300) this.#reader = usageReader(this.#call, contentType);
  }

  responseBody(chunk: Buffer): void {
    this.#reader?.push(chunk);
  }

  done(): void {
    if (this.#done) return;
    this.#done = true;
    this.#hooks.onRepeat(this.#hash.digest('hex'));
    const usage = this.#reader?.end();
    if (!usage) return;
    const prices = this.#hooks.prices();
    const costUsd = costOf(prices, this.#call.provider, usage);
    this.#hooks.onUsage({ ...usage, costUsd, chargedUsd: costUsd ?? dearestCostOf(prices, this.#call.provider, usage) });
  }
}
