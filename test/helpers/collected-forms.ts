/**
 * The three forms a collector stores forwarded items in (the issue 19 format brief), written by
 * hand for the tests of the collector's side — not by Airlock's encoders, so a mistake there cannot
 * hide the same mistake in the verifier or the receivers.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fingerprint } from '../../main/core/audit/handover.js';
import { ephemeralHeadSigner, readHead, type HeadSigner, type SignedHead } from '../../main/core/audit/head.js';
import { readLinesOf, segmentFiles, writeEvents } from './audit.js';
import { tempDir } from './env.js';

/** A real trail's stored lines and the signed head its writer left. */
export interface Trail {
  id: string;
  lines: string[];
  heads: Array<{ signed: SignedHead; pem: string }>;
}

export const trailId = () => randomBytes(16).toString('hex');
export const parsed = (line: string) => JSON.parse(line) as { n: number; prev: string; hash: string; kind: string; time: string };

/** `count` records written by a real AuditStore, with its signed head. */
export async function trailOf(count: number, signer: HeadSigner = ephemeralHeadSigner()): Promise<Trail> {
  const dir = path.join(tempDir('airlock-audit-'), 'audit');
  await writeEvents(dir, signer, count);
  return { id: trailId(), lines: segmentFiles(dir).flatMap(readLinesOf), heads: [{ signed: (await readHead(dir))!, pem: signer.publicKeyPem() }] };
}

export const source = { host: 'laptop-1', user: 'ana', version: '0.19.0' };

export function webhookRecord(trail: string, line: string, redelivery = false): string {
  return `{"airlock":"record","trail":"${trail}","host":"${source.host}","user":"${source.user}","version":"${source.version}","redelivery":${redelivery},"record":${line}}`;
}

export function webhookSkipped(trail: string, from: number, to: number, prev: string, lastHash: string, redelivery = false): string {
  return JSON.stringify({ airlock: 'skipped', trail, ...source, redelivery, from, to, count: to - from + 1, prev, lastHash });
}

export function webhookHead(trail: string, signed: SignedHead, pem: string): string {
  return JSON.stringify({ airlock: 'head', trail, ...source, signed, publicKey: pem, fingerprint: fingerprint(pem) });
}

export const str = (value: string) => ({ stringValue: value });
export const attr = (key: string, value: unknown) => ({ key, value });

/** An ExportLogsServiceRequest in the OTLP/JSON mapping carrying `lines` as records (and optionally a head). */
export function otlpRequestObject(trail: string, lines: string[], options: { redelivery?: boolean; head?: { signed: SignedHead; pem: string } } = {}) {
  const logRecords: unknown[] = lines.map((line) => {
    const record = parsed(line);
    return {
      timeUnixNano: String(Date.parse(record.time) * 1e6), eventName: `airlock.${record.kind}`, severityNumber: 9, severityText: 'INFO', body: str(record.kind),
      attributes: [attr('airlock.n', { intValue: String(record.n) }), attr('airlock.prev', str(record.prev)), attr('airlock.hash', str(record.hash)), attr('airlock.record', str(line)), attr('airlock.redelivery', { boolValue: options.redelivery ?? false })],
    };
  });
  if (options.head) {
    const { signed, pem } = options.head;
    logRecords.push({ eventName: 'airlock.audit.head', attributes: [attr('airlock.head.n', { intValue: String(signed.head.n) }), attr('airlock.head.hash', str(signed.head.hash)), attr('airlock.head.signed', str(JSON.stringify(signed))), attr('airlock.head.public_key', str(pem)), attr('airlock.head.fingerprint', str(fingerprint(pem)))] });
  }
  const resource = { attributes: [attr('service.name', str('airlock')), attr('service.version', str(source.version)), attr('host.name', str(source.host)), attr('user.name', str(source.user)), attr('airlock.trail.id', str(trail))] };
  return { resourceLogs: [{ resource, scopeLogs: [{ scope: { name: 'airlock.audit', version: '1' }, logRecords }] }] };
}

export const otlpRequest = (...args: Parameters<typeof otlpRequestObject>): string => JSON.stringify(otlpRequestObject(...args));

const sdEscape = (value: string) => value.replace(/["\\\]]/g, '\\$&');

/** The RFC 5424 message for a record (without its RFC 5425 octet count). */
export function syslogMessage(trail: string, line: string, redelivery = false): string {
  const record = parsed(line);
  const sd = `[airlock@32473 trail="${trail}" n="${record.n}" prev="${record.prev}" hash="${record.hash}" task="${sdEscape('t_1"]\\')}" redelivery="${redelivery ? 1 : 0}"]`;
  return `<110>1 ${record.time} ${source.host} airlock - ${record.kind} ${sd} \uFEFF${line}`;
}

export const syslogRecord = (trail: string, line: string, redelivery = false): string => JSON.stringify({ syslog: syslogMessage(trail, line, redelivery) });
