'use strict';
// A task's sidecar: the first process of every task, in a container of its own that the agent's
// container joins (network and PID namespaces). It runs as another user than the agent, so the
// agent can neither signal nor trace it; it is PID 1's child in the PID namespace both share, so
// when it exits the kernel kills every process of the task. It exits when:
//   - its stdin ends: Airlock's attach stream is gone (Airlock crashed, was killed, or is done);
//   - the task's deadline passes (armed by Airlock when the agent starts, checked against the wall
//     clock every second, so a laptop that slept through the deadline stops the task on waking);
//   - Airlock never arms it within the start-up allowance.
// It also carries the agent's proxy connections (allowlist/open networks): it listens on
// 127.0.0.1:<port> in the network namespace the agent shares, and relays every connection to
// Airlock over its stdin/stdout, so there is no network path from the sandbox to the host at all.
// And it watches the workspace's size limit, so filling it is an event.
// Frames: type (1 byte), connection id (4), payload length (4), payload. Per-connection credit
// windows keep one slow connection from buffering without bound. Keep in step with
// main/core/engine/relay-frames.ts.
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');

// One argument, JSON: { proxyPort?, browserPort?, workspace?, maxConnections, startAllowanceMs }.
// Run as `node -e <source> <json>` (the sandbox has no copy of this file), argv[1] is the argument;
// run as `node sidecar.cjs <json>` (tests), argv[2] is.
const config = JSON.parse(process.argv[require.main ? 2 : 1] || '{}');
const TYPE = { OPEN: 1, DATA: 2, END: 3, CLOSE: 4, WINDOW: 5, READY: 6, LOG: 7, STATUS: 8, ARM: 9, REPORT: 10 };
const WINDOW = 256 * 1024;
const MAX_PAYLOAD = 64 * 1024;
const EMPTY = Buffer.alloc(0);
const maxConnections = config.maxConnections || 128;
const connections = new Map();
let nextId = 1;

function send(type, id, payload = EMPTY) {
  const header = Buffer.alloc(9);
  header[0] = type;
  header.writeUInt32BE(id, 1);
  header.writeUInt32BE(payload.length, 5);
  process.stdout.write(payload.length ? Buffer.concat([header, payload]) : header);
}
const status = (value) => send(TYPE.STATUS, 0, Buffer.from(JSON.stringify(value)));

function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

function stop(code, why) {
  if (why) send(TYPE.LOG, 0, Buffer.from(`sidecar: ${why}`));
  // Let the last frame out, but never wait long: the task must end.
  process.stdout.write(EMPTY, () => process.exit(code));
  setTimeout(() => process.exit(code), 200).unref();
}

// ---- the deadline ----------------------------------------------------------------------------
let deadline = Date.now() + (config.startAllowanceMs || 10 * 60_000);
setInterval(() => {
  if (Date.now() >= deadline) stop(3, 'the task\'s deadline passed: stopping it');
}, 1000);

// ---- the workspace's size limit ----------------------------------------------------------------
let full = false;
function checkDisk() {
  if (!config.workspace) return;
  let stats;
  try {
    stats = fs.statfsSync(config.workspace);
  } catch {
    return;
  }
  const total = stats.blocks * stats.bsize;
  const free = stats.bavail * stats.bsize;
  // Full: less than 1% (at most 1 MiB) left; reported again only after it went below 90%.
  if (!full && free <= Math.min(total / 100, 1024 * 1024)) {
    full = true;
    status({ disk: { full: true, usedBytes: total - free, totalBytes: total } });
  } else if (full && total - free < total * 0.9) {
    full = false;
  }
}
if (config.workspace) setInterval(checkDisk, 1000);

// ---- relayed connections -------------------------------------------------------------------------
let refused = 0;
const accept = (kind) => (socket) => {
  if (connections.size >= maxConnections) {
    socket.destroy();
    refused += 1;
    if (refused === 1 || refused % 100 === 0) status({ refusedConnections: refused, maxConnections });
    return;
  }
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

function onFrame(type, id, payload) {
  if (type === TYPE.REPORT) {
    // The agent has exited: what the last second's checks may have missed, now.
    checkDisk();
    status({ reported: true });
    return;
  }
  if (type === TYPE.ARM) {
    // Airlock started the agent: the task's deadline is this many ms from now (plus Airlock's grace).
    deadline = Date.now() + payload.readUInt32BE(0) * 1000;
    return;
  }
  const conn = connections.get(id);
  if (!conn) return;
  if (type === TYPE.DATA) conn.socket.write(payload, () => send(TYPE.WINDOW, id, u32(payload.length)));
  else if (type === TYPE.END) conn.socket.end();
  else if (type === TYPE.CLOSE) {
    connections.delete(id);
    // After an END, what is still being written to the agent goes first: closing a socket whose
    // writes have all left drops nothing; destroying one mid-write would cut the agent's data.
    if (conn.socket.writableEnded && !conn.socket.writableFinished) conn.socket.once('finish', () => conn.socket.destroy());
    else conn.socket.destroy();
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
    if (length > MAX_PAYLOAD) return stop(4, 'a frame from Airlock was too large');
    if (pending.length - offset - 9 < length) break;
    onFrame(pending[offset], pending.readUInt32BE(offset + 1), pending.subarray(offset + 9, offset + 9 + length));
    offset += 9 + length;
  }
  pending = offset === pending.length ? EMPTY : Buffer.from(pending.subarray(offset));
});
// Airlock went away (or is done): nothing may run without it, so the task ends here.
process.stdin.on('end', () => stop(0));
process.stdin.on('error', () => stop(0));

function fail(error) {
  stop(1, error.message);
}
const servers = [];
if (config.proxyPort !== undefined) servers.push({ server: net.createServer(accept('proxy')), port: config.proxyPort, name: 'port' });
if (config.browserPort !== undefined) servers.push({ server: net.createServer(accept('browser')), port: config.browserPort, name: 'browserPort' });
const ready = () => send(TYPE.READY, 0, Buffer.from(JSON.stringify({
  interfaces: Object.keys(os.networkInterfaces()).sort(),
  ...Object.fromEntries(servers.map((s) => [s.name, s.server.address().port])),
})));
let listening = 0;
for (const { server, port } of servers) {
  server.on('error', fail);
  server.listen(port, '127.0.0.1', () => {
    listening += 1;
    if (listening === servers.length) ready();
  });
}
if (servers.length === 0) ready();
