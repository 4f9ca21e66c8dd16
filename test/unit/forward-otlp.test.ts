import fs from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { OTLP_LOGS_DESCRIPTOR } from '../../main/core/forward/otlp-descriptor.js';
import { encodeOtlpRequest, OTLP_JSON_FORM, parseOtlpResponse } from '../../main/core/forward/otlp-encode.js';
import { toOtlpRequest, type OtlpAnyValue, type OtlpKeyValue, type OtlpLogRecord } from '../../main/core/forward/otlp-map.js';
import { REPO } from '../helpers/env.js';
import { fixedBatch, rehashes, SOURCE } from '../helpers/forward-batch.js';

const SENT_AT = new Date('2025-03-04T05:06:09.123Z');
const PROTO_DIR = path.join(REPO, 'assets', 'otlp');

/** The schema parsed from the vendored .proto text (not the checked-in descriptor). */
function vendoredSchema(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(PROTO_DIR, target);
  return root.loadSync(['opentelemetry/proto/collector/logs/v1/logs_service.proto']);
}

const attr = (record: OtlpLogRecord, key: string): OtlpAnyValue | undefined => record.attributes.find((a) => a.key === key)?.value;
const kv = (values: OtlpKeyValue[]) => Object.fromEntries(values.map((a) => [a.key, a.value]));

describe('OTLP logs', () => {
  const batch = fixedBatch();
  const request = toOtlpRequest(batch, SENT_AT);
  const records = request.resourceLogs[0]!.scopeLogs[0]!.logRecords;

  it('one resource (this trail), one scope, one log record per item, in order', () => {
    expect(request.resourceLogs).toHaveLength(1);
    expect(kv(request.resourceLogs[0]!.resource.attributes)).toEqual({
      'service.name': { stringValue: 'airlock' },
      'service.version': { stringValue: '1.4.0' },
      'host.name': { stringValue: 'laptop-7' },
      'user.name': { stringValue: 'ada' },
      'airlock.trail.id': { stringValue: SOURCE.trailId },
    });
    expect(request.resourceLogs[0]!.scopeLogs[0]!.scope).toEqual({ name: 'airlock.audit', version: '1' });
    expect(records.map((r) => r.eventName)).toEqual(['airlock.task.started', 'airlock.net.denied', 'airlock.cred.misuse', 'airlock.forward.skipped', 'airlock.cred.used', 'airlock.audit.head']);
    expect(records.map((r) => [r.severityNumber, r.severityText])).toEqual([[9, 'INFO'], [13, 'WARN'], [17, 'ERROR'], [9, 'INFO'], [9, 'INFO'], [9, 'INFO']]);
  });

  it('a denied request: every attribute, and its OCSF Network Activity body (golden)', () => {
    const item = batch.items[1]!;
    if (item.type !== 'record') throw new Error('fixture');
    expect(records[1]).toEqual({
      timeUnixNano: '1741064767891000000',
      observedTimeUnixNano: '1741064769123000000',
      severityNumber: 13,
      severityText: 'WARN',
      eventName: 'airlock.net.denied',
      attributes: [
        { key: 'airlock.n', value: { intValue: '8' } },
        { key: 'airlock.prev', value: { stringValue: item.record.prev } },
        { key: 'airlock.hash', value: { stringValue: item.record.hash } },
        { key: 'airlock.record', value: { stringValue: item.line } },
        { key: 'airlock.kind', value: { stringValue: 'net.denied' } },
        { key: 'airlock.task.id', value: { stringValue: '01JTASK0000000000000000000' } },
        { key: 'airlock.actor', value: { stringValue: 'agent' } },
        { key: 'gen_ai.agent.name', value: { stringValue: 'support' } },
        { key: 'airlock.agent.digest', value: { stringValue: `sha256:${'d'.repeat(64)}` } },
        { key: 'airlock.decision.allow', value: { boolValue: false } },
        { key: 'airlock.decision.rule', value: { stringValue: 'hosts.allow' } },
        { key: 'airlock.decision.by', value: { stringValue: 'policy' } },
        { key: 'airlock.redelivery', value: { boolValue: true } },
      ],
      body: {
        kvlistValue: {
          values: [
            { key: 'class_uid', value: { intValue: '4001' } },
            { key: 'class_name', value: { stringValue: 'Network Activity' } },
            { key: 'category_uid', value: { intValue: '4' } },
            { key: 'category_name', value: { stringValue: 'Network Activity' } },
            { key: 'activity_id', value: { intValue: '5' } },
            { key: 'type_uid', value: { intValue: '400105' } },
            { key: 'severity_id', value: { intValue: '3' } },
            { key: 'time', value: { intValue: '1741064767891' } },
            { key: 'message', value: { stringValue: 'net.denied host="evil.test" port=443 denied by hosts.allow' } },
            { key: 'status', value: { stringValue: 'Failure' } },
            { key: 'metadata', value: { kvlistValue: { values: [
              { key: 'product', value: { kvlistValue: { values: [{ key: 'name', value: { stringValue: 'Airlock' } }, { key: 'vendor_name', value: { stringValue: 'Airlock' } }, { key: 'version', value: { stringValue: '1.4.0' } }] } } },
              { key: 'version', value: { stringValue: '1.3.0' } },
              { key: 'uid', value: { stringValue: `${SOURCE.trailId}:8` } },
              { key: 'log_name', value: { stringValue: 'airlock.audit' } },
            ] } } },
            { key: 'actor', value: { kvlistValue: { values: [{ key: 'app_name', value: { stringValue: 'support' } }] } } },
            { key: 'unmapped', value: { kvlistValue: { values: [{ key: 'task', value: { stringValue: '01JTASK0000000000000000000' } }, { key: 'kind', value: { stringValue: 'net.denied' } }, { key: 'rule', value: { stringValue: 'hosts.allow' } }] } } },
            { key: 'disposition_id', value: { intValue: '2' } },
            { key: 'disposition', value: { stringValue: 'Blocked' } },
          ],
        },
      },
    });
  });

  it('misuse is a Detection Finding; an ordinary record has a short string body; chain, parent and identity are carried', () => {
    const finding = kv(records[2]!.body.kvlistValue!.values);
    expect(finding.class_uid).toEqual({ intValue: '2004' });
    expect(finding.category_uid).toEqual({ intValue: '2' });
    expect(finding.type_uid).toEqual({ intValue: '200401' });
    expect(kv(finding.finding_info!.kvlistValue!.values).uid).toEqual({ stringValue: `${SOURCE.trailId}:9` });
    expect(records[0]!.body).toEqual({ stringValue: 'task.started image="airlock/agent-base:1"' });
    const used = records[4]!;
    expect(used.body.stringValue).toMatch(/^cred\.used/);
    expect(attr(used, 'airlock.chain')).toEqual({ arrayValue: { values: [{ stringValue: '01JROOT' }, { stringValue: '01JPARENT' }] } });
    expect(attr(used, 'airlock.parent')).toEqual({ stringValue: '01JPARENT' });
    expect(attr(used, 'airlock.grant')).toEqual({ stringValue: 'g-2' });
    expect(attr(used, 'airlock.credential')).toEqual({ stringValue: 'openai' });
    expect(attr(used, 'airlock.decision.allow')).toEqual({ boolValue: true });
  });

  it('skipped ranges and the signed head carry what a verifier links and checks', () => {
    const skipped = batch.items[3]!;
    const head = batch.items[5]!;
    if (skipped.type !== 'skipped' || head.type !== 'head') throw new Error('fixture');
    expect(kv(records[3]!.attributes)).toEqual({
      'airlock.skipped.from': { intValue: '10' }, 'airlock.skipped.to': { intValue: '11' }, 'airlock.skipped.count': { intValue: '2' },
      'airlock.prev': { stringValue: skipped.prev }, 'airlock.skipped.last_hash': { stringValue: skipped.lastHash }, 'airlock.redelivery': { boolValue: false },
    });
    expect(records[3]!.timeUnixNano).toBeUndefined();
    const headAttrs = kv(records[5]!.attributes);
    expect(JSON.parse(headAttrs['airlock.head.signed']!.stringValue!)).toEqual(head.signed);
    expect(headAttrs['airlock.head.n']).toEqual({ intValue: '12' });
    expect(headAttrs['airlock.head.public_key']).toEqual({ stringValue: head.publicKeyPem });
    expect(headAttrs['airlock.head.fingerprint']!.stringValue).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('every record\'s airlock.record is its exact stored line and re-hashes to its airlock.hash', () => {
    const lines = records.filter((r) => attr(r, 'airlock.record'));
    expect(lines).toHaveLength(4);
    for (const record of lines) {
      const line = attr(record, 'airlock.record')!.stringValue!;
      expect(rehashes(line)).toBe(true);
      expect(line.endsWith(`"hash":"${attr(record, 'airlock.hash')!.stringValue}"}`)).toBe(true);
    }
  });

  it('protobuf bytes decode, with the schema parsed from the vendored .proto text, back to exactly the JSON form', () => {
    const type = vendoredSchema().lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
    const decoded = type.toObject(type.decode(encodeOtlpRequest(request, 'protobuf')), OTLP_JSON_FORM);
    expect(decoded).toEqual(request);
    expect(JSON.parse(encodeOtlpRequest(request, 'json').toString())).toEqual(request);
  });

  it('int64 survives exactly in both encodings: nanosecond times past 2^53, an n near 2^53', () => {
    const base = fixedBatch();
    const item = base.items[0]!;
    if (item.type !== 'record') throw new Error('fixture');
    const far = { ...base, items: [{ ...item, record: { ...item.record, n: Number.MAX_SAFE_INTEGER, time: '2262-04-11T23:47:16.854Z' } }] };
    const big = toOtlpRequest(far, new Date('2099-12-31T23:59:59.999Z'));
    const logRecord = big.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
    // 9223372036854 ms is the last whole ms whose nanoseconds fit int64; a double would round it.
    expect(logRecord.timeUnixNano).toBe('9223372036854000000');
    // and the fixture's 1741064767891000000 is not a double at all (the nearest is 256 ns away)
    expect(BigInt(Number(records[1]!.timeUnixNano))).not.toBe(1741064767891000000n);
    const type0 = vendoredSchema().lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
    const fixture = type0.toObject(type0.decode(encodeOtlpRequest(request, 'protobuf')), OTLP_JSON_FORM) as typeof request;
    expect(fixture.resourceLogs[0]!.scopeLogs[0]!.logRecords[1]!.timeUnixNano).toBe('1741064767891000000');
    expect(logRecord.observedTimeUnixNano).toBe('4102444799999000000');
    expect(attr(logRecord, 'airlock.n')).toEqual({ intValue: '9007199254740991' });
    const type = vendoredSchema().lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
    const decoded = type.toObject(type.decode(encodeOtlpRequest(big, 'protobuf')), OTLP_JSON_FORM) as typeof big;
    expect(decoded.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.timeUnixNano).toBe('9223372036854000000');
    expect(decoded).toEqual(big);
    expect(encodeOtlpRequest(big, 'json').toString()).toContain('"timeUnixNano":"9223372036854000000"');
  });

  it('the checked-in descriptor is exactly what the vendored .proto files parse to (they cannot drift)', () => {
    expect(JSON.parse(JSON.stringify(OTLP_LOGS_DESCRIPTOR))).toEqual(vendoredSchema().toJSON());
    const header = fs.readFileSync(path.join(PROTO_DIR, 'opentelemetry/proto/logs/v1/logs.proto'), 'utf8');
    expect(header).toContain('Licensed under the Apache License, Version 2.0');
    expect(header).toContain('string event_name = 12;');
  });

  it('reads the collector\'s ExportLogsServiceResponse in JSON and protobuf; a rejected count counts; garbage does not parse', () => {
    const type = vendoredSchema().lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');
    const pb = Buffer.from(type.encode(type.fromObject({ partialSuccess: { rejectedLogRecords: '3', errorMessage: 'quota' } })).finish());
    expect(parseOtlpResponse(pb, 'application/x-protobuf', 'json')).toEqual({ rejected: 3n, errorMessage: 'quota' });
    expect(parseOtlpResponse(Buffer.from('{"partialSuccess":{"rejectedLogRecords":"2"}}'), 'application/json; charset=utf-8', 'protobuf')).toEqual({ rejected: 2n });
    expect(parseOtlpResponse(Buffer.from('{}'), 'application/json', 'json')).toEqual({ rejected: 0n });
    expect(parseOtlpResponse(Buffer.from('{"partialSuccess":{}}'), 'application/json', 'json')).toEqual({ rejected: 0n });
    expect(parseOtlpResponse(Buffer.alloc(0), 'text/html', 'protobuf')).toEqual({ rejected: 0n });
    expect(parseOtlpResponse(Buffer.from('<html>ok</html>'), 'text/html', 'json')).toBeUndefined();
    expect(parseOtlpResponse(Buffer.from('{"partialSuccess":{"rejectedLogRecords":"many"}}'), 'application/json', 'json')).toBeUndefined();
    expect(parseOtlpResponse(Buffer.from([0x0a, 0xff, 0xff]), 'application/x-protobuf', 'protobuf')).toBeUndefined();
    expect(parseOtlpResponse(Buffer.from('[1]'), 'application/json', 'json')).toBeUndefined();
  });
});
