// One model call as it passes through the gateway: its request's digest (for loops) and its
// response's usage (for spend), read as the bytes go by. Nothing here may throw into the relay.
import { createHash } from 'node:crypto';
import type { ExchangeMeter } from '../gateway/task-state.js';
import type { ModelCall } from './model-api.js';
import { costOf, dearestCostOf, type PriceTable } from './prices.js';
import { MAX_TOKENS_PER_CALL, type Usage, usageReader, type UsageReader } from './usage-reader.js';

/** Bytes a token is taken to be when an answer carries no usage (JSON and SSE framing make it an overestimate). */
export const BYTES_PER_ESTIMATED_TOKEN = 4;

export interface PricedUsage extends Usage {
  /** The table's price, or null when it has none for the model. */
  costUsd: number | null;
  /** What counts against a USD budget: the cost, or the provider's dearest price when unknown. */
  chargedUsd: number;
  /** The answer carried no usage: the counts are estimated from the bytes both ways. */
  estimated?: boolean;
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
  #requestBytes = 0;
  #responseBytes = 0;
  #done = false;

  constructor(call: ModelCall, request: { method: string; host: string; port: number; path: string }, hooks: CallMeterHooks) {
    this.#call = call;
    this.#hooks = hooks;
    this.#hash.update(`${request.method} ${request.host}:${request.port}${request.path}\n`);
  }

  requestBody(chunk: Buffer): void {
    this.#hash.update(chunk);
    this.#requestBytes += chunk.length;
  }

  response(status: number, contentType: string | undefined): void {
    // Only a successful answer carries usage the provider bills.
    if (status >= 200 && status < 300) this.#reader = usageReader(this.#call, contentType);
  }

  responseBody(chunk: Buffer): void {
    this.#responseBytes += chunk.length;
    this.#reader?.push(chunk);
  }

  done(): void {
    if (this.#done) return;
    this.#done = true;
    this.#hooks.onRepeat(this.#hash.digest('hex'));
    if (!this.#reader) return;
    // A billed answer without usage (a Chat Completions stream not asked for it, a provider that
    // leaves it out) still spends: estimated from its size, so no budget is spent unseen.
    const usage = this.#reader.end() ?? this.#estimate();
    const prices = this.#hooks.prices();
    const costUsd = costOf(prices, this.#call.provider, usage);
    this.#hooks.onUsage({ ...usage, costUsd, chargedUsd: costUsd ?? dearestCostOf(prices, this.#call.provider, usage) });
  }

  #estimate(): Usage & { estimated: true } {
    const tokens = (bytes: number) => Math.min(MAX_TOKENS_PER_CALL, Math.ceil(bytes / BYTES_PER_ESTIMATED_TOKEN));
    return {
      model: this.#call.pathModel, inputTokens: tokens(this.#requestBytes), outputTokens: tokens(this.#responseBytes), cachedTokens: 0, estimated: true,
      malformed: `the answer carried no usage: counts estimated from its size, ${BYTES_PER_ESTIMATED_TOKEN} bytes a token`,
    };
  }
}
