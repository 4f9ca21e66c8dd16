/**
 * A batch as an OTLP ExportLogsServiceRequest (opentelemetry-proto v1.9.0, logs v1) in the OTLP/JSON
 * mapping: lowerCamelCase names, enums as integers, int64 as decimal strings (nanosecond times do not
 * fit a double). One ResourceLogs (this machine's trail), one ScopeLogs, one LogRecord per item.
 * otlp-encode.ts turns the same object into protobuf.
 */
import type { AuditRecord } from '../audit/record.js';
import { ocsfBody, type OcsfValue } from './ocsf.js';
import { isSecurityEvent, itemSeverity, text, type ForwardSeverity } from './severity.js';
import { itemSummary } from './summary.js';
import type { ForwardBatch, ForwardItem } from './types.js';

export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  /** int64: a decimal string. */
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values: OtlpAnyValue[] };
  kvlistValue?: { values: OtlpKeyValue[] };
}

export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}

export interface OtlpLogRecord {
  /** fixed64 nanoseconds since the epoch, as a decimal string; absent when unknown (a skipped range). */
  timeUnixNano?: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  body: OtlpAnyValue;
  attributes: OtlpKeyValue[];
  eventName: string;
}

export interface OtlpLogsRequest {
  resourceLogs: Array<{
    resource: { attributes: OtlpKeyValue[] };
    scopeLogs: Array<{ scope: { name: string; version: string }; logRecords: OtlpLogRecord[] }>;
  }>;
}

export const OTLP_SCOPE = { name: 'airlock.audit', version: '1' } as const;

/** OTLP SeverityNumber: INFO 9, WARN 13, ERROR 17. */
const SEVERITY: Record<ForwardSeverity, { number: number; text: string }> = {
  info: { number: 9, text: 'INFO' },
  warn: { number: 13, text: 'WARN' },
  error: { number: 17, text: 'ERROR' },
};

/** Milliseconds since the epoch → nanoseconds as int64 text, exactly (BigInt: no float rounding). */
export function unixNanos(ms: number): string {
  return (BigInt(Math.trunc(ms)) * 1_000_000n).toString();
}

function timeNanos(time: unknown): string | undefined {
  const ms = typeof time === 'string' ? Date.parse(time) : NaN;
  return Number.isFinite(ms) ? unixNanos(ms) : undefined;
}

const str = (value: string): OtlpAnyValue => ({ stringValue: value });
const int = (value: number): OtlpAnyValue => ({ intValue: Number.isSafeInteger(value) ? String(value) : '0' });
const bool = (value: boolean): OtlpAnyValue => ({ boolValue: value });

/** Any JSON-like value (the OCSF body) as an AnyValue: integers as int64 text, objects as kvlists. */
export function anyValue(value: OcsfValue): OtlpAnyValue {
  if (typeof value === 'string') return str(value);
  if (typeof value === 'boolean') return bool(value);
  if (typeof value === 'number') return Number.isSafeInteger(value) ? int(value) : { doubleValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map(anyValue) } };
  return { kvlistValue: { values: Object.entries(value).map(([key, item]) => ({ key, value: anyValue(item) })) } };
}

class Attributes {
  readonly list: OtlpKeyValue[] = [];
  add(key: string, value: OtlpAnyValue | undefined): this {
    if (value !== undefined) this.list.push({ key, value });
    return this;
  }
  text(key: string, value: unknown): this {
    const found = text(value);
    return this.add(key, found === undefined ? undefined : str(found));
  }
}

function recordAttributes(record: AuditRecord, line: string, redelivery: boolean): OtlpKeyValue[] {
  const agent = (record.agent ?? {}) as { name?: unknown; digest?: unknown };
  const decision = record.decision as { allow?: unknown; rule?: unknown; by?: unknown } | undefined;
  const identity = record.identity as { grant?: unknown; credential?: unknown } | undefined;
  const chain = Array.isArray(record.chain) ? record.chain.filter((link): link is string => typeof link === 'string') : [];
  return new Attributes()
    .add('airlock.n', int(record.n))
    .text('airlock.prev', record.prev)
    .text('airlock.hash', record.hash)
    .add('airlock.record', str(line))
    .text('airlock.kind', record.kind)
    .text('airlock.task.id', record.task)
    .text('airlock.actor', record.actor)
    .text('gen_ai.agent.name', agent.name)
    .text('airlock.agent.digest', agent.digest)
    .text('airlock.parent', record.parent)
    .add('airlock.chain', chain.length > 0 ? { arrayValue: { values: chain.map(str) } } : undefined)
    .add('airlock.decision.allow', typeof decision?.allow === 'boolean' ? bool(decision.allow) : undefined)
    .text('airlock.decision.rule', decision?.rule)
    .text('airlock.decision.by', decision?.by)
    .text('airlock.grant', identity?.grant)
    .text('airlock.credential', identity?.credential)
    .add('airlock.redelivery', bool(redelivery))
    .list;
}

function logRecord(item: ForwardItem, batch: ForwardBatch, observed: string): OtlpLogRecord {
  const severity = SEVERITY[itemSeverity(item)];
  const common = { observedTimeUnixNano: observed, severityNumber: severity.number, severityText: severity.text };
  if (item.type === 'record') {
    const { record } = item;
    const time = timeNanos(record.time);
    return {
      ...(time !== undefined ? { timeUnixNano: time } : {}),
      ...common,
      body: isSecurityEvent(record) ? anyValue(ocsfBody(record, batch.source)) : str(itemSummary(item)),
      attributes: recordAttributes(record, item.line, item.redelivery),
      eventName: `airlock.${String(record.kind)}`,
    };
  }
  if (item.type === 'skipped') {
    return {
      ...common,
      body: str(itemSummary(item)),
      attributes: new Attributes()
        .add('airlock.skipped.from', int(item.from))
        .add('airlock.skipped.to', int(item.to))
        .add('airlock.skipped.count', int(item.count))
        .add('airlock.prev', str(item.prev))
        .add('airlock.skipped.last_hash', str(item.lastHash))
        .add('airlock.redelivery', bool(item.redelivery))
        .list,
      eventName: 'airlock.forward.skipped',
    };
  }
  const time = timeNanos(item.signed.head.time);
  return {
    ...(time !== undefined ? { timeUnixNano: time } : {}),
    ...common,
    body: str(itemSummary(item)),
    attributes: new Attributes()
      .add('airlock.head.n', int(item.signed.head.n))
      .add('airlock.head.hash', str(item.signed.head.hash))
      .add('airlock.head.signed', str(JSON.stringify(item.signed)))
      .add('airlock.head.public_key', str(item.publicKeyPem))
      .add('airlock.head.fingerprint', str(item.fingerprint))
      .list,
    eventName: 'airlock.audit.head',
  };
}

/** The request for one batch; `sentAt` is every LogRecord's observed time. */
export function toOtlpRequest(batch: ForwardBatch, sentAt: Date): OtlpLogsRequest {
  const observed = unixNanos(sentAt.getTime());
  const { source } = batch;
  return {
    resourceLogs: [{
      resource: {
        attributes: new Attributes()
          .add('service.name', str('airlock'))
          .add('service.version', str(source.version))
          .add('host.name', str(source.host))
          .add('user.name', str(source.user))
          .add('airlock.trail.id', str(source.trailId))
          .list,
      },
      scopeLogs: [{ scope: { ...OTLP_SCOPE }, logRecords: batch.items.map((item) => logRecord(item, batch, observed)) }],
    }],
  };
}
