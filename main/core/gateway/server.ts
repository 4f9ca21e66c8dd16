// The HTTP servers the gateway runs (the proxy, intercepted tunnels, refusal pages, the in-sandbox
// API) are made alike: the same time limits, and nothing Node would answer on its own without
// the gateway seeing it — a missing Host or an unknown Expect reaches the gateway's handler, which
// answers it and records it like any other refusal.
import http from 'node:http';
import { guardServer, type GatewayTimeouts, type Watchdog } from './timeouts.js';

export function gatewayServer(watchdog: Watchdog, timeouts: GatewayTimeouts, onExpired?: Parameters<typeof guardServer>[3]): http.Server {
  const server = http.createServer({ keepAlive: true, requestTimeout: 0, headersTimeout: timeouts.headersMs, requireHostHeader: false });
  server.on('checkExpectation', (req: http.IncomingMessage, res: http.ServerResponse) => server.emit('request', req, res));
  guardServer(server, watchdog, timeouts, onExpired);
  return server;
}
