import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { AirlockEvent } from './events.js';
import { isWellFormed, toWellFormed } from './well-formed.js';

/** An event as the audit trail keeps it: numbered, and chained to the record before it. */
export interface AuditRecord extends AirlockEvent {
  /** Position in the whole trail, from 1, contiguous across segments and processes. */
  n: number;
  /** `hash` of record n-1 (GENESIS for n = 1). */
  prev: string;
  /** sha256 (hex) of the record's canonical JSON (RFC 8785) without `hash`. */
  hash: string;
}

export const GENESIS = '0'.repeat(64);

// A line is the record's canonical JSON with its hash appended as the last member, so a verifier
// hashes the bytes as they are instead of re-canonicalising every record.
const HASH_SUFFIX = /,"hash":"([0-9a-f]{64})"\}$/;
const SUFFIX_LENGTH = ',"hash":"'.length + 64 + '"}'.length;

export function sealRecord(event: AirlockEvent, n: number, prev: string): { line: string; hash: string } {
  let body: string | undefined;
  try {
    body = canonicalize({ ...event, n, prev });
  } catch {
    // What canonical JSON refuses (a lone surrogate, a number that is not finite) must not keep
    // the trail from being written: the record is kept with those values replaced, and says so.
    body = canonicalize({ ...event, data: { ...(recordable(event.data) as Record<string, unknown>), unrecordableReplaced: true }, n, prev });
  }
  if (body === undefined) throw new Error('event cannot be serialised');
  const hash = hashBody(body);
  return { line: `${body.slice(0, -1)},"hash":"${hash}"}`, hash };
}

export function hashBody(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}

/** Splits a stored line into the hashed body and the hash it claims; undefined if malformed. */
export function openLine(line: string): { body: string; claimed: string } | undefined {
  const match = HASH_SUFFIX.exec(line);
  if (!match) return undefined;
  return { body: `${line.slice(0, -SUFFIX_LENGTH)}}`, claimed: match[1]! };
}

export function parseRecord(line: string): AuditRecord | undefined {
  try {
    const record = JSON.parse(line) as AuditRecord;
    return typeof record.n === 'number' && typeof record.hash === 'string' ? record : undefined;
  } catch {
    return undefined;
  }
}

/** A copy of a value that canonical JSON can hold: lone surrogates → U+FFFD, other numbers → their text. */
export function recordable(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return toWellFormed(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (depth > 64) return '[too deep]';
  if (Array.isArray(value)) return value.map((item) => recordable(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [toWellFormed(key), recordable(item, depth + 1)]));
}

/**
 * What in a parsed JSON value the audit trail's canonical JSON (RFC 8785) refuses: a lone
 * surrogate (`"\ud800"`, in a key or a value) or a number that is not finite (`1e999` parses as
 * Infinity). Iterative: the value itself may be hostile.
 */
export function unrecordable(value: unknown): string | undefined {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string' && !isWellFormed(item)) return 'a lone surrogate';
    if (typeof item === 'number' && !Number.isFinite(item)) return `a number too large (${item})`;
    if (item === null || typeof item !== 'object') continue;
    for (const [key, child] of Object.entries(item)) {
      if (!isWellFormed(key)) return 'a lone surrogate';
      stack.push(child);
    }
  }
  return undefined;
}
