/**
 * POSTs a batch to an HTTPS collector (OTLP/HTTP or the webhook) with node:https: built in, and it
 * takes this connection's own CA list, name check and socket bounds per request (fetch would need
 * undici's Agent for a per-collector CA). One connection per batch (no pool to leak or go stale).
 * Every failure comes back as an outcome with one printable line; `send` never throws.
 */
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { systemClock, type Clock } from '../clock.js';
import { checkForwarderUrl } from './forwarder-url.js';
import { inertText } from './inert.js';
import { collectorTlsOptions } from './tls-options.js';
import { COLLECTOR_TIMEOUT_MS, CollectorTimeout, describeFailure, notAcknowledged, RESPONSE_LIMIT, retryAfterMs, withoutSecret } from './transport-common.js';
import type { ForwardBatch, ForwarderConfig, ForwardTransport, SendOutcome } from './types.js';

export { checkForwarderUrl } from './forwarder-url.js';

/** What differs between OTLP and the webhook: the body, and what a 2xx answer means. */
export interface HttpExchange {
  body(batch: ForwardBatch, sentAt: Date): { bytes: Buffer; contentType: string };
  /** A 2xx answer: acknowledged, or why not. `truncated` when the body was longer than 64 KiB. */
  accept(response: { body: Buffer; contentType: string | undefined; truncated: boolean }): SendOutcome;
}

export interface TransportDeps {
  clock?: Clock;
  /** Per request (default 30 s). */
  timeoutMs?: number;
  /** Name resolution (tests: the `.test` names to loopback). */
  lookup?: LookupFunction;
}

const RETRYABLE = new Set([429, 502, 503, 504]);
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

interface Answer {
  status: number;
  statusText: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  truncated: boolean;
}

/** The auth header from the keychain's secret, or why it cannot be sent (never showing the secret). */
function authHeader(config: ForwarderConfig, secret: string | undefined): Record<string, string> | string {
  if (secret === undefined) return {};
  const name = config.auth?.header || 'Authorization';
  const scheme = config.auth?.scheme ?? 'Bearer';
  if (!HEADER_NAME.test(name)) return `the auth header name ${JSON.stringify(inertText(name, 60))} is not a valid HTTP header name`;
  // A line break would end the header early: whatever followed would be a header of its own.
  // eslint-disable-next-line no-control-regex -- controls are what is refused
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(`${scheme}${secret}`)) return `the secret (or auth scheme) of forwarder ${config.name} holds a control character, which no HTTP header may carry; store it again`;
  return { [name]: scheme === '' ? secret : `${scheme} ${secret}` };
}

export function httpTransport(config: ForwarderConfig, secret: string | undefined, exchange: HttpExchange, deps: TransportDeps = {}): ForwardTransport {
  const clock = deps.clock ?? systemClock;
  const timeoutMs = deps.timeoutMs ?? COLLECTOR_TIMEOUT_MS;
  const inFlight = new Set<() => void>();

  function post(batch: ForwardBatch, signal: AbortSignal): Promise<Answer> {
    const target = checkForwarderUrl(config.kind, config.url);
    const auth = authHeader(config, secret);
    if (typeof auth === 'string') return Promise.reject(new Error(auth));
    const tlsOptions = collectorTlsOptions(target.host, config.caFile);
    const { bytes, contentType } = exchange.body(batch, new Date(clock.now()));
    return new Promise<Answer>((resolve, reject) => {
      let settled = false;
      const request = https.request({
        host: target.host,
        port: target.port,
        path: `${target.url.pathname}${target.url.search}`,
        method: 'POST',
        agent: false,
        ...tlsOptions,
        ...(deps.lookup ? { lookup: deps.lookup } : {}),
        headers: { 'Content-Type': contentType, 'Content-Length': bytes.length, 'User-Agent': 'airlock-audit-forwarder', ...auth },
      });
      const finish = (error: Error | undefined, answer?: Answer) => {
        if (settled) return;
        settled = true;
        timer.cancel();
        signal.removeEventListener('abort', onAbort);
        inFlight.delete(stop);
        request.destroy(); // after an answer too: a body past 64 KiB is never read on
        if (error) reject(error);
        else resolve(answer!);
      };
      const stop = () => finish(Object.assign(new Error('sending was cancelled'), { code: 'ABORT_ERR' }));
      const onAbort = stop;
      const timer = clock.setTimeout(() => finish(new CollectorTimeout(timeoutMs)), timeoutMs);
      if (signal.aborted) return stop();
      signal.addEventListener('abort', onAbort, { once: true });
      inFlight.add(stop);
      request.on('error', (error) => finish(error));
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let truncated = false;
        const done = () => finish(undefined, {
          status: response.statusCode ?? 0,
          statusText: response.statusMessage ?? '',
          headers: response.headers,
          body: Buffer.concat(chunks),
          truncated,
        });
        response.on('data', (chunk: Buffer) => {
          if (truncated) return;
          const room = RESPONSE_LIMIT - size;
          if (chunk.length > room) {
            chunks.push(chunk.subarray(0, room));
            size = RESPONSE_LIMIT;
            truncated = true;
            done(); // the rest is never read: the connection goes with it
            return;
          }
          chunks.push(chunk);
          size += chunk.length;
        });
        response.on('end', done);
        response.on('error', (error) => finish(error));
        response.on('aborted', () => finish(Object.assign(new Error('the response was cut off'), { code: 'ECONNRESET' })));
      });
      request.end(bytes);
    });
  }

  function judge(received: Answer): SendOutcome {
    // Blanked before anything is shortened or made inert: a collector (or a proxy) that echoes the
    // request's headers must not leave the secret's first characters, or the secret with its spaces
    // folded, in a status, a cursor or the trail's `audit.forward` record.
    const answer = withoutSecretIn(received, secret);
    const said = answer.body.length > 0 ? `: ${inertText(answer.body.toString('utf8'))}` : '';
    const status = `${answer.status}${answer.statusText ? ` ${inertText(answer.statusText, 60)}` : ''}`;
    if (answer.status >= 200 && answer.status < 300) return exchange.accept({ body: answer.body, contentType: headerText(answer.headers['content-type']), truncated: answer.truncated });
    if (RETRYABLE.has(answer.status)) {
      return notAcknowledged(`the collector answered ${status}, try later${said}`, retryAfterMs(headerText(answer.headers['retry-after']), clock.now()));
    }
    // A body limit in front of the collector (nginx's is 1 MiB): the same batch would be refused for ever.
    if (answer.status === 413) return { ok: false, reason: `the collector answered ${status}${said}; smaller batches follow`, tooLarge: true };
    return notAcknowledged(`the collector answered ${status}${said}`);
  }

  return {
    async send(batch, signal) {
      let outcome: SendOutcome;
      try {
        outcome = judge(await post(batch, signal));
      } catch (error) {
        outcome = notAcknowledged(describeFailure(error));
      }
      return withoutSecret(outcome, secret);
    },
    async close() {
      for (const stop of [...inFlight]) stop();
    },
  };
}

function blank(text: string, secret: string): string {
  return text.split(secret).join('[secret]');
}

/** The answer with every copy of the secret blanked in what a reason may quote: status text, headers, body. */
function withoutSecretIn(answer: Answer, secret: string | undefined): Answer {
  if (!secret) return answer;
  const needle = Buffer.from(secret, 'utf8');
  const headers: Answer['headers'] = {};
  for (const [name, value] of Object.entries(answer.headers)) headers[name] = Array.isArray(value) ? value.map((v) => blank(v, secret)) : value === undefined ? undefined : blank(value, secret);
  return { ...answer, statusText: blank(answer.statusText, secret), headers, body: answer.body.includes(needle) ? Buffer.from(blank(answer.body.toString('latin1'), needle.toString('latin1')), 'latin1') : answer.body };
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
