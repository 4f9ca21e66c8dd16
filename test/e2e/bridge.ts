/**
 * The e2e test bridge: serves THE SAME contract as the Electron main process — the same handler
 * registrations (main/ipc: every call forwarded to Airlock's engine over the calling page's own
 * engine connection), the same schema checks and envelopes (invokeChecked), the engine's batched
 * pushes — over a WebSocket. The engine is a real engine process (its socket) or one core's handler
 * table in this process, as the harness chooses. It also serves the real
 * built renderer (out/renderer) with a shim (shim.ts) that provides `window.airlock` over that
 * socket, so Chromium runs the app's own bundle where Electron's binary cannot be had.
 *
 * The only change to the page: its CSP allows this one WebSocket (connect-src), and one classic
 * script (the shim, from the same origin) runs before the renderer's module.
 *
 * Messages are JSON; byte arrays (a screen frame's PNG, a screenshot, a terminal's keys) cross as {"$bytes": base64}
 * and the shim turns them back into Uint8Array. Each connection is one caller with its own engine
 * connection: the frames of a screen it watches go to that connection alone, as Electron sends
 * them to one web contents, and its control of a screen is given back when it closes.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { transform } from 'esbuild';
import { WebSocketServer, type WebSocket } from 'ws';
import { decodeMessage, encodeMessage } from '../../main/core/server/wire.js';
import { registerAppHandlers } from '../../main/ipc/app.js';
import type { Caller } from '../../main/ipc/caller.js';
import { EngineConnections, type Connect } from '../../main/ipc/engine-link.js';
import type { ArtifactFilePorts } from '../../main/ipc/artifacts.js';
import { registerForwardingHandlers, type Dialogs } from '../../main/ipc/forward.js';
import { invokeChecked, type Handle, type Handler } from '../../main/ipc/register.js';
import type { RunDialogs } from '../../main/ipc/run-files.js';
import { channels, PUSH_TOPICS, type Channel } from '../../preload/contract.js';

export interface BridgeOptions {
  /** Opens one engine connection (one per WebSocket connection). */
  connect: Connect;
  dialogs: Dialogs;
  /** The Artifacts tab's save dialog and file manager (fakes); without them Save and Reveal are refused. */
  artifactFiles?: ArtifactFilePorts;
  /** The run dialog's project/inputs/output dialogs (fakes). */
  runDialogs?: RunDialogs;
  /** The built renderer: out/renderer. */
  rendererDir: string;
  version?: string;
}

export interface Bridge {
  url: string;
  /** Calls answered, by channel (tests check that the UI went through the contract). */
  calls: Map<string, number>;
  close(): Promise<void>;
}

/** One WebSocket connection as the caller of what it asks: per-caller pushes go to it alone. */
function connectionCaller(ws: WebSocket): Caller {
  const gone = new Set<() => void>();
  ws.on('close', () => {
    const pending = [...gone];
    gone.clear();
    for (const listener of pending) listener();
  });
  return {
    push: (topic, payload) => {
      if (ws.readyState === ws.OPEN) ws.send(encodeMessage({ push: topic, payload, sentAt: Date.now() }));
    },
    onGone: (listener) => {
      gone.add(listener);
      return () => gone.delete(listener);
    },
  };
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.json': 'application/json' };

export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const handlers = new Map<Channel, Handler<Channel>>();
  const handle: Handle = (channel, handler) => {
    if (handlers.has(channel)) throw new Error(`${channel} already has a handler`);
    handlers.set(channel, handler as unknown as Handler<Channel>);
  };
  registerAppHandlers(handle, { version: options.version ?? '0.0.0-e2e' });
  const connections = new EngineConnections(options.connect);
  registerForwardingHandlers(handle, { engine: connections, dialogs: options.dialogs, ...(options.artifactFiles ? { artifactFiles: options.artifactFiles } : {}), ...(options.runDialogs ? { runDialogs: options.runDialogs } : {}) });
  const missing = channels.filter((c) => !handlers.has(c));
  if (missing.length > 0) throw new Error(`bridge: channels without a handler: ${missing.join(', ')}`);

  const token = randomBytes(16).toString('hex');
  const server = http.createServer();
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  const wsUrl = `ws://127.0.0.1:${port}/bridge?token=${token}`;
  // The built page's own policy (the build-output test keeps it equal to main/security.ts's), with
  // this one WebSocket allowed. (main/security.ts is not imported: it needs Electron.)
  const builtHtml = fs.readFileSync(path.join(options.rendererDir, 'index.html'), 'utf8');
  const builtPolicy = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]+)"/i.exec(builtHtml)?.[1];
  if (!builtPolicy?.includes("connect-src 'none'")) throw new Error(`bridge: ${options.rendererDir}/index.html has no strict CSP; run \`electron-vite build\``);
  const policy = builtPolicy.replace("connect-src 'none'", `connect-src ws://127.0.0.1:${port}`);
  const shimSource = await fs.promises.readFile(path.join(import.meta.dirname, 'shim.ts'), 'utf8');
  const shim = (await transform(shimSource, { loader: 'ts', format: 'iife', target: 'chrome120' })).code;
  const config = JSON.stringify({ url: wsUrl, channels, topics: PUSH_TOPICS });
  const shimScript = `globalThis.__AIRLOCK_BRIDGE__ = ${config};\n${shim}`;

  server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', origin);
    const headers = { 'Content-Security-Policy': policy, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' };
    if (url.pathname === '/bridge-shim.js') {
      res.writeHead(200, { ...headers, 'Content-Type': TYPES['.js']! }).end(shimScript);
      return;
    }
    const relative = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname).replace(/^\/+/, '');
    const file = path.resolve(options.rendererDir, relative);
    if (!file.startsWith(path.resolve(options.rendererDir) + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, headers).end('not found');
      return;
    }
    let body: Buffer | string = fs.readFileSync(file);
    if (relative === 'index.html') {
      body = body.toString('utf8')
        .replace(/(<meta\s+http-equiv="Content-Security-Policy"\s+content=")[^"]*(")/i, `$1${policy}$2`)
        .replace(/<script type="module"/, '<script src="./bridge-shim.js"></script>\n    <script type="module"');
    }
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(body);
  });

  const calls = new Map<string, number>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const clients = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', origin);
    // The sender check of this transport: our own page (its origin) holding this run's token.
    if (url.pathname !== '/bridge' || url.searchParams.get('token') !== token || req.headers.origin !== origin) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.add(ws);
      ws.on('close', () => clients.delete(ws));
      const caller = connectionCaller(ws);
      ws.on('message', (raw) => {
        let message: { id: number; channel: string; args: unknown };
        try {
          message = decodeMessage(raw.toString()) as typeof message;
        } catch {
          return;
        }
        const channel = message.channel as Channel;
        const handler = handlers.get(channel);
        const reply = (envelope: unknown) => ws.send(encodeMessage({ id: message.id, envelope }));
        if (!handler || !Array.isArray(message.args)) {
          reply({ ok: false, error: { code: 'bad_argument', message: `no channel ${String(message.channel)}` } });
          return;
        }
        calls.set(channel, (calls.get(channel) ?? 0) + 1);
        void invokeChecked(channel, handler, message.args, caller, (text, error) => console.error(`bridge: ${text}`, error ?? '')).then(reply);
      });
    });
  });

  return {
    url: `${origin}/index.html`,
    calls,
    close: async () => {
      for (const client of clients) client.terminate();
      await connections.closeAll();
      wss.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
