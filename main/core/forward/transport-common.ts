/**
 * What the collector transports share: outcomes with one printable line, network and TLS errors
 * said plainly, and the bound every exchange runs under.
 */
import { isTlsError } from '../engine/docker-tls.js';
import { isAirlockError } from '../errors.js';
import { inertText } from './inert.js';
import type { SendOutcome } from './types.js';

/** Every request or connection to a collector is given up after this (30 s). */
export const COLLECTOR_TIMEOUT_MS = 30_000;
/** A collector's answer is read to at most this many bytes. */
export const RESPONSE_LIMIT = 64 * 1024;
/** The longest Retry-After honoured (10 min). */
export const RETRY_AFTER_CAP_MS = 10 * 60_000;

export function notAcknowledged(reason: string, retryAfterMs?: number): SendOutcome {
  return retryAfterMs === undefined ? { ok: false, reason } : { ok: false, reason, retryAfterMs };
}

export class CollectorTimeout extends Error {
  readonly ms: number;
  constructor(ms: number) {
    super(`no answer within ${Math.round(ms / 1000)} s`);
    this.ms = ms;
  }
}

/** A failure to reach or talk to the collector, as one line (never a stack, never request headers). */
export function describeFailure(error: unknown): string {
  if (error instanceof CollectorTimeout) return `the collector did not answer within ${Math.max(1, Math.round(error.ms / 1000))} s`;
  if (isAirlockError(error)) return error.hint ? `${error.message}; ${error.hint}` : error.message;
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  const message = inertText(String((error as Error | undefined)?.message ?? error), 120);
  if (code === 'ABORT_ERR') return 'sending was cancelled';
  if (isTlsError(error)) {
    if (/^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_[A-Z_]+)$/.test(code)) {
      return `the collector's TLS certificate is not signed by a CA Airlock trusts (${code}); give the CA that signed it as the forwarder's caFile`;
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'the collector\'s TLS certificate is not for the name in the forwarder\'s URL (ERR_TLS_CERT_ALTNAME_INVALID); use a name the certificate holds';
    return `the TLS handshake with the collector failed (${code}: ${message})`;
  }
  if (code === 'ECONNREFUSED') return 'the collector refused the connection (ECONNREFUSED): is it listening on that port?';
  if (code === 'ECONNRESET' || code === 'EPIPE') return `the collector closed the connection before answering (${code})`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the collector's host name does not resolve (${code})`;
  return code !== '' ? `cannot reach the collector (${code}: ${message})` : `cannot reach the collector (${message})`;
}

/** Any text that leaves a transport: the secret, if it ever got there, is blanked. */
export function withoutSecret(outcome: SendOutcome, secret: string | undefined): SendOutcome {
  if (outcome.ok || !secret) return outcome;
  return { ...outcome, reason: outcome.reason.split(secret).join('[secret]') };
}

/** Retry-After as delta-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms from `now`, capped; undefined when absent or malformed. */
export function retryAfterMs(header: string | undefined, now: number): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  let ms: number;
  if (/^\d+$/.test(value)) ms = Number(value) * 1000;
  else {
    const at = Date.parse(value);
    if (!Number.isFinite(at)) return undefined;
    ms = Math.max(0, at - now);
  }
  return Math.min(ms, RETRY_AFTER_CAP_MS);
}
