/**
 * Reading a collected-stream file (README "Forwarding the audit trail"): one JSON object a line, any
 * mix of webhook lines, OTLP/JSON ExportLogsServiceRequests and `{"syslog":"<SYSLOG-MSG>"}`. Every
 * line is someone else's bytes: whatever is wrong with one becomes a problem, never an exception,
 * and nothing here walks a value deeper than the fields it reads.
 */
import { rawMember } from './json-span.js';
import { parseSyslogMessage } from './syslog-parse.js';

/** Who sent a trail's items, as the items say (unchecked: shown, never trusted). */
export interface StreamSource {
  host?: string;
  user?: string;
  version?: string;
}

/** One item found in a line, before any check. Fields the line did not give well are `unknown`. */
export type StreamItem =
  /** `line` is the record's stored line as the item carries it; `stated` what the carrier says besides (OTLP attributes, syslog SD). */
  | { type: 'record'; trail: string; line: string; redelivery: boolean; stated: { n?: unknown; hash?: unknown; prev?: unknown }; source?: StreamSource }
  | { type: 'skipped'; trail: string; from: unknown; to: unknown; count: unknown; prev: unknown; lastHash: unknown; redelivery: boolean; source?: StreamSource }
  | { type: 'head'; trail: string; signed: unknown; publicKey: unknown; fingerprint: unknown; source?: StreamSource };

export interface LineContent {
  items: StreamItem[];
  /** What is wrong in the line; `trail` when it is known whose item it was. */
  problems: Array<{ trail?: string; message: string }>;
  /** OTLP log records of other services (a shared collector's file): not Airlock's, not counted. */
  foreign: number;
}

const TRAIL_ID = /^[0-9a-f]{32}$/;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** What one line of the file holds. */
export function parseStreamLine(line: string): LineContent {
  const out: LineContent = { items: [], problems: [], foreign: 0 };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    out.problems.push({ message: 'not JSON' });
    return out;
  }
  if (!isObject(value)) out.problems.push({ message: 'not a JSON object' });
  else if ('syslog' in value) syslogLine(value.syslog, out);
  else if ('resourceLogs' in value) otlpRequest(value.resourceLogs, out);
  else if ('resourceSpans' in value || 'resourceMetrics' in value) out.foreign += 1;
  else if ('airlock' in value) webhookLine(value, line, out);
  else out.problems.push({ message: 'not a forwarded item (a webhook line, an OTLP/JSON request or {"syslog":…})' });
  return out;
}

function trailOf(value: unknown, out: LineContent): string | undefined {
  if (typeof value === 'string' && TRAIL_ID.test(value)) return value;
  out.problems.push({ message: 'an item without a valid trail id (32 hex characters)' });
  return undefined;
}

// ---- webhook lines (also the MSG of a syslog skipped or head item) ----

function webhookLine(value: Json, line: string, out: LineContent): void {
  const trail = trailOf(value.trail, out);
  if (!trail) return;
  const source = { host: text(value.host), user: text(value.user), version: text(value.version) };
  const redelivery = value.redelivery === true;
  switch (value.airlock) {
    case 'record': {
      // The record's exact bytes, not a re-serialisation: its hash covers them.
      const raw = isObject(value.record) ? rawMember(line, 'record') : undefined;
      if (raw === undefined) out.problems.push({ trail, message: 'a record item whose "record" is not the record\'s line (a JSON object)' });
      else out.items.push({ type: 'record', trail, line: raw, redelivery, stated: {}, source });
      return;
    }
    case 'skipped':
      out.items.push({ type: 'skipped', trail, from: value.from, to: value.to, count: value.count, prev: value.prev, lastHash: value.lastHash, redelivery, source });
      return;
    case 'head':
      out.items.push({ type: 'head', trail, signed: value.signed, publicKey: value.publicKey, fingerprint: value.fingerprint, source });
      return;
    default:
      out.problems.push({ trail, message: 'an item of an unknown type (not record, skipped or head)' });
  }
}

// ---- OTLP/JSON ----

/** An AnyValue of the OTLP/JSON mapping, as the plain value it holds (int64 may be a decimal string). */
function anyValue(value: unknown): unknown {
  if (!isObject(value)) return undefined;
  if ('stringValue' in value) return value.stringValue;
  if ('boolValue' in value) return value.boolValue;
  if ('intValue' in value) {
    const int = value.intValue;
    if (typeof int === 'number') return int;
    return typeof int === 'string' && /^-?\d{1,20}$/.test(int) ? Number(int) : Number.NaN;
  }
  if ('doubleValue' in value) return value.doubleValue;
  return undefined;
}

function attributes(value: unknown): Map<string, unknown> {
  const map = new Map<string, unknown>();
  for (const attribute of list(value)) {
    if (isObject(attribute) && typeof attribute.key === 'string') map.set(attribute.key, anyValue(attribute.value));
  }
  return map;
}

function otlpRequest(resourceLogs: unknown, out: LineContent): void {
  if (!Array.isArray(resourceLogs)) {
    out.problems.push({ message: 'an OTLP request whose resourceLogs is not a list' });
    return;
  }
  for (const resourceLog of resourceLogs) {
    if (!isObject(resourceLog)) {
      out.problems.push({ message: 'an OTLP ResourceLogs that is not an object' });
      continue;
    }
    const resource = attributes(isObject(resourceLog.resource) ? resourceLog.resource.attributes : undefined);
    const logRecords = list(resourceLog.scopeLogs).flatMap((scope) => (isObject(scope) ? list(scope.logRecords) : []));
    if (!resource.has('airlock.trail.id') && resource.get('service.name') !== 'airlock') {
      out.foreign += logRecords.length;
      continue;
    }
    const trail = trailOf(resource.get('airlock.trail.id'), out);
    if (!trail) continue;
    const source = { host: text(resource.get('host.name')), user: text(resource.get('user.name')), version: text(resource.get('service.version')) };
    for (const logRecord of logRecords) otlpLogRecord(logRecord, trail, source, out);
  }
}

function otlpLogRecord(logRecord: unknown, trail: string, source: StreamSource, out: LineContent): void {
  const eventName = isObject(logRecord) ? logRecord.eventName : undefined;
  const attrs = attributes(isObject(logRecord) ? logRecord.attributes : undefined);
  const redelivery = attrs.get('airlock.redelivery') === true;
  if (eventName === 'airlock.forward.skipped') {
    out.items.push({ type: 'skipped', trail, from: attrs.get('airlock.skipped.from'), to: attrs.get('airlock.skipped.to'), count: attrs.get('airlock.skipped.count'), prev: attrs.get('airlock.prev'), lastHash: attrs.get('airlock.skipped.last_hash'), redelivery, source });
  } else if (eventName === 'airlock.audit.head') {
    out.items.push({ type: 'head', trail, signed: jsonOrUndefined(attrs.get('airlock.head.signed')), publicKey: attrs.get('airlock.head.public_key'), fingerprint: attrs.get('airlock.head.fingerprint'), source });
  } else if (typeof eventName === 'string' && eventName.startsWith('airlock.')) {
    const line = attrs.get('airlock.record');
    if (typeof line !== 'string') out.problems.push({ trail, message: 'an OTLP log record without the record\'s line (airlock.record)' });
    else out.items.push({ type: 'record', trail, line, redelivery, stated: { n: attrs.get('airlock.n'), hash: attrs.get('airlock.hash'), prev: attrs.get('airlock.prev') }, source });
  } else {
    out.problems.push({ trail, message: 'an OTLP log record of an Airlock resource with an unknown eventName' });
  }
}

function jsonOrUndefined(value: unknown): unknown {
  if (typeof value !== 'string') return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

// ---- RFC 5424 messages ----

function syslogLine(message: unknown, out: LineContent): void {
  if (typeof message !== 'string') {
    out.problems.push({ message: 'a syslog item that is not a string' });
    return;
  }
  const parsed = parseSyslogMessage(message);
  if ('problem' in parsed) {
    out.problems.push({ message: `a syslog message that is not RFC 5424: ${parsed.problem}` });
    return;
  }
  const params = parsed.structuredData.get('airlock@32473');
  if (!params) {
    out.problems.push({ message: 'a syslog message without Airlock\'s structured data (airlock@32473)' });
    return;
  }
  const trail = trailOf(params.get('trail'), out);
  if (!trail) return;
  const source = { host: parsed.hostname === '-' ? undefined : parsed.hostname };
  const redelivery = params.get('redelivery') === '1';
  const msg = parsed.msg ?? '';
  if (parsed.msgid === 'airlock.skipped' || parsed.msgid === 'airlock.head') {
    const inner = jsonOrUndefined(msg);
    const before = out.items.length;
    // The MSG is the webhook's object for the same item; the SD says whose it is.
    if (isObject(inner) && inner.airlock === (parsed.msgid === 'airlock.skipped' ? 'skipped' : 'head')) webhookLine({ ...inner, trail, redelivery: redelivery || inner.redelivery === true }, msg, out);
    else out.problems.push({ trail, message: `a syslog ${parsed.msgid} message whose MSG is not its JSON object` });
    for (const item of out.items.slice(before)) item.source = source;
    return;
  }
  const n = params.get('n');
  out.items.push({ type: 'record', trail, line: msg, redelivery, stated: { n: n !== undefined && /^\d{1,20}$/.test(n) ? Number(n) : n, hash: params.get('hash'), prev: params.get('prev') }, source });
}
