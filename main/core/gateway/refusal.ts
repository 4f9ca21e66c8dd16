import type { Duplex } from 'node:stream';
import type { Target } from './target.js';
import { formatHost, formatTarget } from './target.js';

/** What a refused client is told: which rule refused it and how to allow the host. */
export function refusalBody(target: Target, reason: string, rule: string): string {
  const name = formatHost(target);
  const hostRule = target.port === 80 || target.port === 443 ? name : `${name}:${target.port}`;
  return [
    `Airlock refused ${formatTarget(target)}: ${reason}.`,
    `Rule: ${rule}.`,
    rule.startsWith('address')
      ? `To allow it: add a local rule for exactly this host and port to the manifest: network.local: ["${name}:${target.port}"].`
      : rule.startsWith('rate')
        ? 'To allow more: raise network.rate in the manifest.'
        : `To allow it: add "${hostRule}" to network.allow in the manifest, or run with --net allow:${hostRule}.`,
    howToAsk(hostRule),
    '',
  ].join('\n');
}

/** The one line every refusal ends with: how the agent asks a person, with a reason, instead of trying a way around. */
export function howToAsk(hostRule: string): string {
  return `To ask for access: POST http://airlock.internal/v1/access-requests {"host":${JSON.stringify(hostRule)},"reason":"<why this task needs it>"}`;
}

export function rawResponse(status: number, reason: string, body: string, extraHeaders: string[] = []): string {
  return [
    `HTTP/1.1 ${status} ${reason}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...extraHeaders,
    '',
    body,
  ].join('\r\n');
}

const REASON_PHRASES: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 405: 'Method Not Allowed', 408: 'Request Timeout', 413: 'Content Too Large', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large', 502: 'Bad Gateway' };

/** What a request Node's parser refused was, in words, and the status it gets. */
export function describeClientError(error: NodeJS.ErrnoException): { status: number; reason: string } {
  if (error.code === 'HPE_HEADER_OVERFLOW') return { status: 431, reason: 'the request head is too large' };
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, reason: 'the request head did not arrive in time' };
  return { status: 400, reason: `a malformed request (${error.code ?? 'parse error'}: ${error.message.replace(/^Parse Error: /, '')})` };
}

/**
 * Answers on a raw connection whose request cannot be read (unless a response is already under
 * way), then closes it. `problem`: the parser's error, or a status; `onRefused` records it.
 */
export function answerClientError(socket: Duplex, problem: NodeJS.ErrnoException | number, reason?: string, onRefused?: (status: number, reason: string) => void): void {
  const described = typeof problem === 'number' ? { status: problem, reason: reason ?? 'refused' } : describeClientError(problem);
  if (typeof problem !== 'number' && problem.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  onRefused?.(described.status, described.reason);
  // An earlier request on the connection still waits for its answer: a 400 written now would be read
  // as that answer, so the connection is closed instead (that request is recorded as cut off).
  const pending = (socket as Duplex & { _httpMessage?: unknown })._httpMessage !== undefined && (socket as Duplex & { _httpMessage?: unknown })._httpMessage !== null;
  if (!socket.writable || pending) {
    socket.destroy();
    return;
  }
  socket.end(rawResponse(described.status, REASON_PHRASES[described.status] ?? 'Error', `Airlock gateway: ${described.reason}.\n`), () => socket.destroy());
}
