// Request framing: what the sandbox's framing headers said is checked (Node's parser already
// refuses Content-Length with Transfer-Encoding, duplicate or invalid Content-Length and obs-fold),
// then the request goes upstream framed by Airlock alone — a length it knows, or chunked — so no
// byte of one request can be read upstream as part of another (no smuggling, no desync).
import type http from 'node:http';

/** How a request body is delimited, as Node's parser read it. */
export type BodyFraming = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' };

/** Headers that must appear at most once: two of them mean two readings of one request. */
const SINGLETONS = new Set(['host', 'content-length', 'transfer-encoding', 'authorization', 'proxy-authorization', 'content-encoding']);

/** Methods whose requests usually carry a body: without one, they say so with Content-Length: 0. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

export interface FramingRefusal {
  status: 400 | 417 | 501;
  reason: string;
}

/** A request whose framing Airlock will not pass on, and why; undefined when it is unambiguous. */
export function framingProblem(req: http.IncomingMessage): FramingRefusal | undefined {
  const seen = new Set<string>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    if (SINGLETONS.has(name) && seen.has(name)) return { status: 400, reason: `the request has more than one ${req.rawHeaders[i]} header` };
    seen.add(name);
  }
  const expect = req.headers.expect;
  if (expect !== undefined && expect.trim().toLowerCase() !== '100-continue') return { status: 417, reason: `Expect: ${expect} (only 100-continue is understood)` };
  const transfer = req.headers['transfer-encoding'];
  if (transfer !== undefined && transfer.trim().toLowerCase() !== 'chunked') {
    return { status: 501, reason: `Transfer-Encoding: ${transfer} (only chunked is passed on)` };
  }
  return undefined;
}

export function bodyFraming(req: http.IncomingMessage): BodyFraming {
  if (req.headers['transfer-encoding'] !== undefined) return { kind: 'chunked' };
  const length = Number(req.headers['content-length'] ?? 0);
  return length > 0 ? { kind: 'length', length } : { kind: 'none' };
}

/** The headers to send upstream, with Airlock's own framing in place of the sandbox's. */
export function withFraming(headers: http.OutgoingHttpHeaders, framing: BodyFraming, method: string): http.OutgoingHttpHeaders {
  const out = { ...headers };
  delete out['content-length'];
  delete out['transfer-encoding'];
  if (framing.kind === 'length') out['content-length'] = String(framing.length);
  else if (framing.kind === 'chunked') out['transfer-encoding'] = 'chunked';
  else if (BODY_METHODS.has(method)) out['content-length'] = '0';
  return out;
}
