// The gateway's side of the in-sandbox API (`airlock.internal`): it answers the agent only — never
// the display task's browser (its port never reaches the API), nor any request a browser would
// send (Origin, Referer, Sec-Fetch-*, a body that is not JSON: what a web page can make a browser
// send without the API's consent). Every call counts against the task's request rate and byte
// budget, its body is capped (per call, before any is read) and must arrive whole within a short
// time; a refused call is answered with the reason and recorded.
import type http from 'node:http';
import type { Clock } from '../clock.js';
import { framingProblem } from './framing.js';
import type { Target } from './target.js';
import type { GatewayEvents, GatewayTask } from './task-state.js';
import type { GatewayTimeouts, Watchdog } from './timeouts.js';

/** The reserved name agents call Airlock by (main/core/tasks/sandbox-api.ts), through their proxy. Never resolved, never forwarded. */
export const SANDBOX_API_HOST = 'airlock.internal';
const API_TARGET: Target = { host: SANDBOX_API_HOST, port: 80, kind: 'name' };
/** Why a call from the display task's browser port (a request or a CONNECT) is refused: rule `api.browser`. */
export const FROM_BROWSER_PORT = 'the in-sandbox API is not reachable from the task\'s browser';

/**
 * Headers only a browser sends on its own: a call carrying one was made by a web page, not the
 * agent. One exception: `Sec-Fetch-Mode: cors` alone is what Node's own fetch (undici, following
 * the Fetch standard) sends on every call — agents written in Node use it — while a browser sends
 * Sec-Fetch-Mode only together with Sec-Fetch-Site and Sec-Fetch-Dest (and, from a page, Origin).
 */
const BROWSER_HEADERS = /^(?:origin|referer|sec-fetch-.*)$/;
const FETCH_RUNTIME_ONLY = (name: string, req: http.IncomingMessage): boolean =>
  name === 'sec-fetch-mode' && req.headers['sec-fetch-mode'] === 'cors';
/** Methods whose calls carry no body: every other call must say its body is JSON. */
const BODYLESS = new Set(['GET', 'HEAD']);

/** Why a call looks like a web page's rather than the agent's: the status and reason; undefined when it does not. */
export function browserCallProblem(req: http.IncomingMessage): { status: number; reason: string } | undefined {
  const header = Object.keys(req.headers).find((name) => BROWSER_HEADERS.test(name) && !FETCH_RUNTIME_ONLY(name, req));
  if (header) return { status: 403, reason: `the in-sandbox API answers the agent only, and a call with ${header === 'referer' || header === 'origin' ? `an ${header[0]!.toUpperCase()}${header.slice(1)}` : `a ${header}`} header comes from a web page` };
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (!BODYLESS.has(req.method ?? 'GET') && type !== 'application/json') {
    return { status: 415, reason: `a ${req.method} call must send Content-Type: application/json${type ? ` (not ${type})` : ''}` };
  }
  return undefined;
}

export class SandboxApiRoute {
  readonly #events: GatewayEvents;
  readonly #clock: Clock;
  readonly #watchdog: Watchdog;
  readonly #timeouts: GatewayTimeouts;

  constructor(events: GatewayEvents, clock: Clock, watchdog: Watchdog, timeouts: GatewayTimeouts) {
    this.#events = events;
    this.#clock = clock;
    this.#watchdog = watchdog;
    this.#timeouts = timeouts;
  }

  /** `browser`: the call came in on the display browser's port, which never reaches the API. */
  async serve(network: GatewayTask, req: http.IncomingMessage, res: http.ServerResponse, path: string, browser = false): Promise<void> {
    const started = this.#clock.now();
    const method = req.method ?? 'GET';
    const refuse = (status: number, reason: string, rule: string) => {
      this.#events.refuse(network, API_TARGET, method, path, { ok: false, status, reason, decision: { allow: false, rule, by: 'policy' } }, started);
      if (!res.headersSent && !res.destroyed) res.writeHead(status, { 'Content-Type': 'application/json', Connection: 'close' }).end(`${JSON.stringify({ error: reason })}\n`);
      else res.destroy();
    };
    if (browser) return refuse(403, FROM_BROWSER_PORT, 'api.browser');
    const api = network.sandboxApi;
    if (!api) return refuse(404, 'the in-sandbox API is not available to this task', 'api');
    const fromPage = browserCallProblem(req);
    if (fromPage) return refuse(fromPage.status, fromPage.reason, 'api.origin');
    const framing = framingProblem(req);
    if (framing) return refuse(framing.status, framing.reason, 'framing');
    const limited = network.limits.admitRequest();
    if (limited) {
      this.#events.violation(network, limited, API_TARGET, method, path);
      return refuse(429, limited, limited.split(':')[0]!);
    }
    const max = api.maxBody(method, path);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) return refuse(413, `the body is over ${max} bytes, the most this call takes`, 'api.body');
    const body = await this.#readBody(network, req, max);
    if (typeof body === 'string') return refuse(body.startsWith('the body is over') ? 413 : 408, body, 'api.body');
    await api.handle({ method, path, headers: req.headers, body }, res).catch((error: unknown) => refuse(500, `the call failed (${(error as Error).message})`, 'internal'));
  }

  /** The whole body, within `max` bytes and the API's body time; else why not. */
  #readBody(network: GatewayTask, req: http.IncomingMessage, max: number): Promise<Buffer | string> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const settle = (value: Buffer | string) => {
        if (done) return;
        done = true;
        watch.stop();
        req.removeAllListeners('data');
        resolve(value);
      };
      const watch = this.#watchdog.watch(this.#timeouts.apiBodyMs, () => {
        settle(`the body did not arrive within ${this.#timeouts.apiBodyMs / 1000} s`);
        req.socket.destroy();
      });
      req.on('data', (chunk: Buffer) => {
        this.#watchdog.touch(req);
        size += chunk.length;
        this.#events.countBytes(network, chunk.length, [req.socket]);
        if (size > max) settle(`the body is over ${max} bytes, the most this call takes`);
        else chunks.push(chunk);
      });
      req.once('end', () => settle(Buffer.concat(chunks)));
      req.once('close', () => settle('the sandbox closed the connection before the body was complete'));
    });
  }
}
