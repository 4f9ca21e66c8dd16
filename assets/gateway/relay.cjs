'use strict';
// Airlock's gateway endpoint: runs inside the task's gateway container, which has no network but
// loopback. It listens on 127.0.0.1:<port> in the network namespace the agent shares, and carries
// every connection to Airlock over its own stdin/stdout (the engine's attach stream) — so there is
// no network path from the sandbox to the host at all. Frames: type (1 byte), connection id (4),
// payload length (4), payload. Per-connection credit windows keep one slow connection from
// buffering without bound. Keep in step with main/core/gateway/relay-frames.ts.
const net = require('node:net');
const os = require('node:os');

// Arguments: <port> [<browser port>]. Run as `node -e <source> …` (the sandbox has no copy of
// this file), argv[1] is the first argument; run as `node relay.cjs …`, argv[1] is the script.
const args = process.argv.slice(require.main ? 2 : 1);
const port = Number(args[0] || 3128);
// A display task's browser gets a port of its own: Chromium cannot present the proxy credential,
// and the gateway knows connections from this port come from the sandbox's browser (OPEN payload 1).
const browserPort = args[1] ? Number(args[1]) : undefined;
const TYPE = { OPEN: 1, DATA: 2, END: 3, CLOSE: 4, WINDOW: 5, READY: 6, LOG: 7 };
const WINDOW = 256 * 1024;
const MAX_PAYLOAD = 64 * 1024;
const EMPTY = Buffer.alloc(0);
const connections = new Map();
let nextId = 1;

function send(type, id, payload = EMPTY) {
  const header = Buffer.alloc(9);
  header[0] = type;
  header.writeUInt32BE(id, 1);
  header.writeUInt32BE(payload.length, 5);
  process.stdout.write(payload.length ? Buffer.concat([header, payload]) : header);
}

function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

const accept = (kind) => (socket) => {
  const id = nextId++;
  const conn = { socket, credit: WINDOW };
  socket.setNoDelay(true); // small requests must not wait for delayed ACKs
  connections.set(id, conn);
  send(TYPE.OPEN, id, kind === 'browser' ? Buffer.from([1]) : EMPTY);
  socket.on('data', (chunk) => {
    for (let i = 0; i < chunk.length; i += MAX_PAYLOAD) send(TYPE.DATA, id, chunk.subarray(i, i + MAX_PAYLOAD));
    conn.credit -= chunk.length;
    if (conn.credit <= 0) socket.pause();
  });
  socket.on('end', () => {
    if (connections.has(id)) send(TYPE.END, id);
  });
  socket.on('close', () => {
    if (connections.delete(id)) send(TYPE.CLOSE, id);
  });
  socket.on('error', () => undefined);
};
const server = net.createServer(accept('proxy'));

function onFrame(type, id, payload) {
  const conn = connections.get(id);
  if (!conn) return;
  if (type === TYPE.DATA) conn.socket.write(payload, () => send(TYPE.WINDOW, id, u32(payload.length)));
  else if (type === TYPE.END) conn.socket.end();
  else if (type === TYPE.CLOSE) {
    connections.delete(id);
    conn.socket.destroy();
  } else if (type === TYPE.WINDOW) {
    conn.credit += payload.readUInt32BE(0);
    if (conn.credit > 0) conn.socket.resume();
  }
}

let pending = EMPTY;
process.stdin.on('data', (chunk) => {
  pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
  let offset = 0;
  while (pending.length - offset >= 9) {
    const length = pending.readUInt32BE(offset + 5);
    if (pending.length - offset - 9 < length) break;
    onFrame(pending[offset], pending.readUInt32BE(offset + 1), pending.subarray(offset + 9, offset + 9 + length));
    offset += 9 + length;
  }
  pending = offset === pending.length ? EMPTY : Buffer.from(pending.subarray(offset));
});
// Airlock went away: nothing can leave any more, so stop.
process.stdin.on('end', () => process.exit(0));

function fail(error) {
  send(TYPE.LOG, 0, Buffer.from(`relay: ${error.message}`));
  process.exit(1);
}
const ready = () => send(TYPE.READY, 0, Buffer.from(JSON.stringify({
  port: server.address().port, interfaces: Object.keys(os.networkInterfaces()).sort(), ...(browserServer ? { browserPort: browserServer.address().port } : {}),
})));
const browserServer = browserPort === undefined ? undefined : net.createServer(accept('browser'));
server.on('error', fail);
browserServer?.on('error', fail);
server.listen(port, '127.0.0.1', () => {
  if (browserServer) browserServer.listen(browserPort, '127.0.0.1', ready);
  else ready();
});
