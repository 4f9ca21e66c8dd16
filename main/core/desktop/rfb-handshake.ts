// The RFB 3.8 handshake of the client, from the server's greeting up to its ServerInit: version,
// security type "None", the security result, ClientInit, and a refusal's reason. What comes after
// (pixel format, update requests, updates) is rfb-client.ts's. The server is hostile: every text
// it sends is bounded before it is waited for.
import type { ByteQueue } from './byte-queue.js';
import { protocol } from './rfb-messages.js';
import type { RfbSink } from './rfb-types.js';

/** Desktop names and refusal reasons are short texts; a longer one is a broken stream. */
const MAX_TEXT = 64 * 1024;

export type HandshakeState =
  | { kind: 'version' }
  | { kind: 'security-types' }
  | { kind: 'security-result' }
  | { kind: 'server-init' }
  | { kind: 'reason'; what: string };

/** The handshake is over: the screen the server announced (not yet checked against any limit). */
export interface ServerInit { kind: 'init'; width: number; height: number; name: string }

/**
 * One step of the handshake: the next state, or the ServerInit once it has arrived; undefined when
 * more bytes are needed. Replies go to `sink`; a violation or refusal throws.
 */
export function handshakeStep(state: HandshakeState, bytes: ByteQueue, sink: RfbSink): HandshakeState | ServerInit | undefined {
  switch (state.kind) {
    case 'version': {
      const greeting = bytes.take(12);
      if (!greeting) return undefined;
      const text = greeting.toString('latin1');
      const match = /^RFB (\d{3})\.(\d{3})\n$/.exec(text);
      if (!match) throw protocol(`the server did not greet with an RFB version (got ${JSON.stringify(text)})`);
      const [major, minor] = [Number(match[1]), Number(match[2])];
      if (major < 3 || (major === 3 && minor < 8)) throw protocol(`the server speaks RFB ${major}.${minor}; 3.8 is needed`);
      sink.write(Buffer.from('RFB 003.008\n', 'latin1'));
      return { kind: 'security-types' };
    }
    case 'security-types': {
      const count = bytes.peek(1)?.[0];
      if (count === undefined) return undefined;
      const offer = bytes.take(1 + count);
      if (!offer) return undefined;
      // A refusal: its reason (length, then text) follows.
      if (count === 0) return { kind: 'reason', what: 'the server refused the connection' };
      if (!offer.subarray(1).includes(1)) throw protocol(`the server offers no security type "None" (offered: ${[...offer.subarray(1)].join(', ')})`);
      sink.write(Buffer.from([1]));
      return { kind: 'security-result' };
    }
    case 'security-result': {
      const result = bytes.take(4);
      if (!result) return undefined;
      if (result.readUInt32BE(0) !== 0) return { kind: 'reason', what: 'the server refused the security handshake' };
      sink.write(Buffer.from([1])); // ClientInit: shared, so other viewers are not kicked off
      return { kind: 'server-init' };
    }
    case 'server-init': {
      const init = takeText(bytes, 20, 'the desktop name');
      if (!init) return undefined;
      return { kind: 'init', width: init.readUInt16BE(0), height: init.readUInt16BE(2), name: init.subarray(24).toString('utf8') };
    }
    case 'reason': {
      const reason = takeText(bytes, 0, 'the reason');
      if (!reason) return undefined;
      throw protocol(`${state.what}: ${reason.subarray(4).toString('utf8') || 'no reason given'}`);
    }
  }
}

/** `head` fixed bytes, a u32 length, then that many bytes of text: all of it, once it is all here. */
function takeText(bytes: ByteQueue, head: number, what: string): Buffer | undefined {
  const fixed = bytes.peek(head + 4);
  if (!fixed) return undefined;
  const length = fixed.readUInt32BE(head);
  if (length > MAX_TEXT) throw protocol(`${what} is ${length} bytes long`);
  return bytes.take(head + 4 + length);
}
