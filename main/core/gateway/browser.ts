// What the gateway does differently for a display task's browser (connections that came in on
// the gateway endpoint's browser port): a refused site gets Airlock's refusal page as a page the
// person watching can read — inside TLS, with a leaf from the task's CA, since browsers never show
// a proxy's answer to CONNECT — and page loads are reported, so the task's screen is captured.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { terminateTls } from './intercept.js';
import { answerClientError } from './refusal.js';
import { gatewayServer } from './server.js';
import type { GatewayTimeouts, Watchdog } from './timeouts.js';
import { formatHost, formatTarget, type Target } from './target.js';
import type { GatewayTask } from './task-state.js';

/** A top-level page load: what browsers mark with Sec-Fetch-Mode: navigate and Sec-Fetch-Dest: document. */
export function isNavigation(headers: http.IncomingHttpHeaders): boolean {
  return headers['sec-fetch-mode'] === 'navigate' && headers['sec-fetch-dest'] === 'document';
}

/** The address a browser loaded inside a tunnel to `target`, as it would show it. */
export function tunnelUrl(target: Target, path: string): string {
  return `https://${formatHost(target)}${target.port === 443 ? '' : `:${target.port}`}${path}`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The refusal as a page: the same words as the plain-text answer (refusalBody), readable on screen. */
export function refusalPage(target: Target, body: string): string {
  const [headline, ...rest] = body.trim().split('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Airlock refused ${escapeHtml(formatTarget(target))}</title>
<meta name="viewport" content="width=device-width">
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#1d1f24;color:#e8e8e8}
main{max-width:46rem;margin:12vh auto;padding:2rem;border-left:6px solid #e5534b;background:#26292f}
h1{font-size:1.5rem;margin:0 0 1rem;color:#ff7b72}
p{margin:.5rem 0}code{background:#33373e;padding:.1rem .3rem;border-radius:3px}
small{color:#9aa0a6}
</style></head>
<body><main><h1>Airlock refused this site</h1>
<p>${escapeHtml(headline ?? '')}</p>
${rest.filter((line) => line !== '').map((line) => `<p>${escapeHtml(line)}</p>`).join('\n')}
<p><small>This task's network policy decides which sites its sandbox may reach. The refusal is in the task's action log.</small></p>
</main></body></html>
`;
}

/**
 * Serves the refusal page on a refused CONNECT from the browser: the tunnel is accepted only to
 * answer every request in it with the refusal's status (403, or 429 over a limit) and the page;
 * nothing is dialled.
 */
export class BrowserRefusals {
  readonly #server: http.Server;
  readonly #pages = new WeakMap<object, { network: GatewayTask; target: Target; page: string; status: number }>();

  constructor(watchdog: Watchdog, timeouts: GatewayTimeouts) {
    this.#server = gatewayServer(watchdog, timeouts);
    this.#server.on('request', (req, res) => {
      const refusal = this.#pages.get(req.socket);
      if (!refusal) {
        res.writeHead(500).end();
        return;
      }
      if (isNavigation(req.headers)) refusal.network.onNavigation?.(tunnelUrl(refusal.target, req.url ?? '/'));
      res.writeHead(refusal.status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'close' }).end(refusal.page);
    });
    this.#server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(socket, error));
    this.#server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => answerClientError(socket, 405, 'CONNECT is not passed on here'));
  }

  serve(network: GatewayTask, target: Target, client: Duplex, head: Buffer, refusal: { status: number; body: string }, context: tls.SecureContext): void {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) client.unshift(head);
    const secure = terminateTls(client, context);
    secure.on('error', () => secure.destroy());
    this.#pages.set(secure, { network, target, page: refusalPage(target, refusal.body), status: refusal.status });
    this.#server.emit('connection', secure);
  }

  close(): void {
    this.#server.closeAllConnections();
  }
}
