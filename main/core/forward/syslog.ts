/**
 * RFC 5424 messages for a batch, in RFC 5425 octet-counted frames (`<MSG-LEN> <SYSLOG-MSG>`):
 *   <PRI>1 TIMESTAMP HOSTNAME airlock - MSGID [airlock@32473 …] BOM+MSG
 * The MSG is the record's exact stored line (or the skipped/head JSON the webhook sends), so a
 * collector re-hashes it. Everything from a record is confined to its field: HOSTNAME and MSGID
 * are checked printable ASCII (else NILVALUE), SD-PARAM values escaped (§6.3.3) with control
 * characters removed, and the frame's length counts the encoded bytes, so no text can start a
 * second frame or SD element.
 */
import { itemSeverity, text, type ForwardSeverity } from './severity.js';
import type { ForwardBatch, ForwardItem, ForwardSource } from './types.js';
import { headLine, skippedLine } from './webhook.js';

/** The documentation Private Enterprise Number (RFC 5612): the SD-ID airlock@32473. */
export const SYSLOG_PEN = 32473;
export const SYSLOG_DEFAULT_PORT = 6514;
const FACILITY_LOG_AUDIT = 13;
const SEVERITY_CODE: Record<ForwardSeverity, number> = { info: 6, warn: 4, error: 3 };
const BOM = '\uFEFF';
const NIL = '-';

/** PRINTUSASCII (%d33-126), 1..max characters; otherwise the NILVALUE. */
function printableAscii(value: string | undefined, max: number): string {
  return value !== undefined && value.length >= 1 && value.length <= max && /^[\x21-\x7e]+$/.test(value) ? value : NIL;
}

/** RFC 3339 with milliseconds and Z, from the record's own time; NILVALUE when it has none. */
function timestamp(time: unknown): string {
  const ms = typeof time === 'string' ? Date.parse(time) : NaN;
  return Number.isFinite(ms) ? new Date(ms).toISOString() : NIL;
}

/**
 * An SD-PARAM value: `"`, `\` and `]` escaped with a backslash (RFC 5424 §6.3.3); control
 * characters (a line break that a line-oriented receiver would split on) left out.
 */
export function sdValue(value: string): string {
  // eslint-disable-next-line no-control-regex -- the controls are what is removed
  return value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '').replace(/["\\\]]/g, (char) => `\\${char}`);
}

function structuredData(params: Array<[string, string]>): string {
  return `[airlock@${SYSLOG_PEN}${params.map(([name, value]) => ` ${name}="${sdValue(value)}"`).join('')}]`;
}

function flag(value: boolean): string {
  return value ? '1' : '0';
}

interface Parts {
  time: unknown;
  msgId: string;
  params: Array<[string, string]>;
  msg: string;
}

function partsOf(item: ForwardItem, source: ForwardSource): Parts {
  const trail: [string, string] = ['trail', source.trailId];
  if (item.type === 'record') {
    const { record } = item;
    return {
      time: record.time,
      msgId: String(record.kind),
      params: [trail, ['n', String(record.n)], ['prev', text(record.prev) ?? ''], ['hash', text(record.hash) ?? ''], ['task', text(record.task) ?? ''], ['redelivery', flag(item.redelivery)]],
      msg: item.line,
    };
  }
  if (item.type === 'skipped') {
    return {
      time: undefined,
      msgId: 'airlock.skipped',
      params: [trail, ['from', String(item.from)], ['to', String(item.to)], ['count', String(item.count)], ['prev', item.prev], ['hash', item.lastHash], ['redelivery', flag(item.redelivery)]],
      msg: skippedLine(item, source),
    };
  }
  return {
    time: item.signed.head.time,
    msgId: 'airlock.head',
    params: [trail, ['n', String(item.signed.head.n)], ['hash', item.signed.head.hash]],
    msg: headLine(item, source),
  };
}

/** One SYSLOG-MSG (RFC 5424) for an item. */
export function syslogMessage(item: ForwardItem, source: ForwardSource): string {
  const parts = partsOf(item, source);
  const pri = FACILITY_LOG_AUDIT * 8 + SEVERITY_CODE[itemSeverity(item)];
  const header = `<${pri}>1 ${timestamp(parts.time)} ${printableAscii(source.host, 255)} airlock ${NIL} ${printableAscii(parts.msgId, 32)}`;
  return `${header} ${structuredData(parts.params)} ${BOM}${parts.msg}`;
}

/** An RFC 5425 frame: the message's length in octets (UTF-8), a space, the message. */
export function syslogFrame(message: string): Buffer {
  const bytes = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${bytes.length} `, 'ascii'), bytes]);
}

/** Every item of a batch as frames, in order: what one TLS connection carries. */
export function syslogFrames(batch: ForwardBatch): Buffer {
  return Buffer.concat(batch.items.map((item) => syslogFrame(syslogMessage(item, batch.source))));
}
