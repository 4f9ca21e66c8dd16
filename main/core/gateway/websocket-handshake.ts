// The two halves of a WebSocket opening handshake (RFC 6455 section 4) as the gateway checks them:
// the sandbox's request must be a well-formed version-13 upgrade to `websocket` alone, and the
// upstream's 101 must answer that very key and agree only to what was offered. Extensions other
// than permessage-deflate are not offered upstream: the gateway reads every frame, and can read
// only frames whose meaning it knows.
import { createHash } from 'node:crypto';
import type http from 'node:http';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface WebSocketOffer {
  key: string;
  /** permessage-deflate offers, passed upstream as the client wrote them; undefined when none. */
  extensions: string | undefined;
  protocols: string[];
}

export type HandshakeCheck = { ok: true; offer: WebSocketOffer } | { ok: false; status: 400 | 405 | 426; reason: string };

const tokens = (value: string | string[] | undefined): string[] =>
  (Array.isArray(value) ? value.join(',') : value ?? '').split(',').map((token) => token.trim()).filter((token) => token.length > 0);

/** The sandbox's upgrade request: refused with a status and reason unless it is a clean WebSocket handshake. */
export function checkClientHandshake(req: http.IncomingMessage): HandshakeCheck {
  const upgrade = tokens(req.headers.upgrade).map((token) => token.toLowerCase());
  if (upgrade.length !== 1 || upgrade[0] !== 'websocket') return { ok: false, status: 400, reason: `Upgrade: ${String(req.headers.upgrade)} (only an upgrade to websocket alone is passed on)` };
  if (req.method !== 'GET') return { ok: false, status: 405, reason: `a WebSocket handshake must be a GET, not ${req.method}` };
  if (req.headers['sec-websocket-version'] !== '13') return { ok: false, status: 426, reason: `Sec-WebSocket-Version: ${req.headers['sec-websocket-version'] ?? '(none)'} (only version 13 is spoken)` };
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || !/^[A-Za-z0-9+/]{22}==$/.test(key.trim())) return { ok: false, status: 400, reason: 'the Sec-WebSocket-Key is missing or not 16 bytes in base64' };
  if (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0) return { ok: false, status: 400, reason: 'a WebSocket handshake carries no body' };
  const deflate = tokens(req.headers['sec-websocket-extensions']).join(',').split(',').map((offer) => offer.trim())
    .filter((offer) => offer.split(';')[0]!.trim().toLowerCase() === 'permessage-deflate');
  return { ok: true, offer: { key: key.trim(), extensions: deflate.length > 0 ? deflate.join(', ') : undefined, protocols: tokens(req.headers['sec-websocket-protocol']) } };
}

export function acceptFor(key: string): string {
  return createHash('sha1').update(`${key}${GUID}`).digest('base64');
}

/** What the upstream agreed to: permessage-deflate, and in which direction the compression context is kept. */
export interface Agreed {
  deflate: boolean;
  /** The server (upstream) starts each message's compression afresh. */
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  protocol: string | undefined;
  extensions: string | undefined;
}

/** The upstream's 101: what it agreed to, or why it is not passed on. */
export function checkUpstreamSwitch(response: http.IncomingMessage, offer: WebSocketOffer): { ok: true; agreed: Agreed } | { ok: false; reason: string } {
  if (tokens(response.headers.upgrade).map((t) => t.toLowerCase()).join(',') !== 'websocket') return { ok: false, reason: `it switched to ${String(response.headers.upgrade)}, not websocket` };
  if (!tokens(response.headers.connection).some((t) => t.toLowerCase() === 'upgrade')) return { ok: false, reason: 'its 101 did not say Connection: Upgrade' };
  if (response.headers['sec-websocket-accept'] !== acceptFor(offer.key)) return { ok: false, reason: 'its Sec-WebSocket-Accept does not answer the handshake\'s key' };
  const protocol = response.headers['sec-websocket-protocol'];
  if (protocol !== undefined && !offer.protocols.includes(protocol)) return { ok: false, reason: `it chose the subprotocol ${JSON.stringify(protocol)}, which was not offered` };
  const extensions = tokens(response.headers['sec-websocket-extensions']);
  if (extensions.length > 1) return { ok: false, reason: 'it agreed to more than one extension' };
  const params = extensions[0]?.split(';').map((p) => p.trim().toLowerCase()) ?? [];
  if (params.length > 0 && (params[0] !== 'permessage-deflate' || offer.extensions === undefined)) return { ok: false, reason: `it agreed to the extension ${JSON.stringify(extensions[0])}, which was not offered` };
  const known = /^(server_no_context_takeover|client_no_context_takeover|(server|client)_max_window_bits(=\d{1,2})?)$/;
  if (params.slice(1).some((p) => !known.test(p))) return { ok: false, reason: `it agreed to permessage-deflate with parameters Airlock does not know (${extensions[0]})` };
  return { ok: true, agreed: {
    deflate: params.length > 0, serverNoContextTakeover: params.includes('server_no_context_takeover'), clientNoContextTakeover: params.includes('client_no_context_takeover'),
    protocol, extensions: extensions[0],
  } };
}

/** The 101 the sandbox gets: the upstream's answer to its key and what was agreed, nothing else from the upstream. */
export function switchHead(offer: WebSocketOffer, agreed: Agreed): string {
  return [
    'HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${acceptFor(offer.key)}`,
    ...(agreed.extensions ? [`Sec-WebSocket-Extensions: ${agreed.extensions}`] : []),
    ...(agreed.protocol ? [`Sec-WebSocket-Protocol: ${agreed.protocol}`] : []),
    '', '',
  ].join('\r\n');
}
