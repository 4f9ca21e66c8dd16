// A hostile "x11vnc" for test/adversarial/screen-rfb.test.ts, run as its own process so that what it
// buffers is not counted as Airlock's memory. It listens on a unix socket (argv[2]) and speaks RFB
// wrapped in the engine's exec framing (stdout frames), as the exec stream would carry it. Each
// connection plays the next attack of argv[3] (comma-separated), then `honest`:
//   rects    updates announcing 65535 CopyRects of the whole screen (1 MB that asks for 256 GB of copying)
//   copies   updates of 1000 whole-screen CopyRects (within the rectangle count, not the copy area)
//   bytes    an endless update of whole-screen Raw rectangles (more bytes than any screen has)
//   endless  valid one-rectangle updates, unasked, without end (CPU)
//   honest   the first screen, then a changed pixel now and then
import { Buffer } from 'node:buffer';
import net from 'node:net';
import process from 'node:process';
import { clearInterval, setInterval } from 'node:timers';

const [socketPath, plan] = process.argv.slice(2);
const attacks = plan.split(',');
const WIDTH = 640;
const HEIGHT = 400;
let connections = 0;

const u16 = (n) => Buffer.from([n >> 8, n & 255]);

function rectHeader(x, y, w, h, encoding) {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(x, 0);
  b.writeUInt16BE(y, 2);
  b.writeUInt16BE(w, 4);
  b.writeUInt16BE(h, 6);
  b.writeInt32BE(encoding, 8);
  return b;
}

const updateHeader = (rects) => Buffer.concat([Buffer.from([0, 0]), u16(rects)]);
const copyRect = Buffer.concat([rectHeader(0, 0, WIDTH, HEIGHT, 1), u16(0), u16(0)]);
const rawScreen = Buffer.concat([rectHeader(0, 0, WIDTH, HEIGHT, 0), Buffer.alloc(WIDTH * HEIGHT * 4, 0x80)]);

function handshake() {
  const init = Buffer.alloc(24);
  init.writeUInt16BE(WIDTH, 0);
  init.writeUInt16BE(HEIGHT, 2);
  init.writeUInt32BE(7, 20);
  return Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 1]), Buffer.alloc(4), init, Buffer.from('hostile')]);
}

/** Writes `payload` as stdout frames of the engine's exec stream; resolves when the socket can take more. */
function send(socket, payload) {
  for (let at = 0; at < payload.length; at += 65_536) {
    const piece = payload.subarray(at, at + 65_536);
    const header = Buffer.alloc(8);
    header[0] = 1;
    header.writeUInt32BE(piece.length, 4);
    socket.write(Buffer.concat([header, piece]));
  }
  return socket.writableLength > 8 * 1024 ** 2 && !socket.destroyed
    ? new Promise((resolve) => { socket.once('drain', resolve); socket.once('close', resolve); })
    : Promise.resolve();
}

async function play(socket, attack) {
  await send(socket, handshake());
  switch (attack) {
    case 'rects':
      for (let i = 0; i < 3; i++) await send(socket, Buffer.concat([updateHeader(65_535), ...Array(65_535).fill(copyRect)]));
      return;
    case 'copies':
      for (let i = 0; i < 3; i++) await send(socket, Buffer.concat([updateHeader(1000), ...Array(1000).fill(copyRect)]));
      return;
    case 'bytes':
      await send(socket, updateHeader(1000));
      for (let i = 0; i < 1000 && !socket.destroyed; i++) await send(socket, rawScreen);
      return;
    case 'endless':
      while (!socket.destroyed) await send(socket, Buffer.concat([updateHeader(1), rawScreen]));
      return;
    default: {
      await send(socket, Buffer.concat([updateHeader(1), rawScreen]));
      const pixel = Buffer.concat([updateHeader(1), rectHeader(0, 0, 1, 1, 0), Buffer.from([1, 2, 3, 0])]);
      const timer = setInterval(() => send(socket, pixel), 500);
      socket.on('close', () => clearInterval(timer));
    }
  }
}

net.createServer((socket) => {
  socket.on('error', () => socket.destroy());
  socket.resume(); // what the client says does not matter
  void play(socket, attacks[connections++] ?? 'honest');
}).listen(socketPath, () => process.send?.('listening'));
