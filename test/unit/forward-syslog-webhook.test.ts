import { describe, expect, it } from 'vitest';
import { sdValue, syslogFrame, syslogFrames, syslogMessage } from '../../main/core/forward/syslog.js';
import type { ForwardBatch } from '../../main/core/forward/types.js';
import { webhookBody } from '../../main/core/forward/webhook.js';
import { fixedBatch, rehashes, SOURCE } from '../helpers/forward-batch.js';

/** Splits an RFC 5425 stream the way a receiver does: MSG-LEN SP, then exactly that many octets. */
function readFrames(stream: Buffer): string[] {
  const messages: string[] = [];
  let at = 0;
  while (at < stream.length) {
    const space = stream.indexOf(0x20, at);
    const length = stream.subarray(at, space).toString('ascii');
    expect(length).toMatch(/^[1-9]\d*$/);
    messages.push(stream.subarray(space + 1, space + 1 + Number(length)).toString('utf8'));
    at = space + 1 + Number(length);
  }
  return messages;
}

/** The SD-ELEMENTs of a message, parsed per RFC 5424's ABNF (escapes honoured). */
function structuredData(message: string): Array<{ id: string; params: Record<string, string> }> {
  const header = /^<\d{1,3}>1 \S+ \S+ \S+ \S+ \S+ /.exec(message);
  expect(header).not.toBeNull();
  let at = header![0].length;
  const elements: Array<{ id: string; params: Record<string, string> }> = [];
  while (message[at] === '[') {
    const id = /^[^ =\]"]+/.exec(message.slice(at + 1))![0];
    at += 1 + id.length;
    const params: Record<string, string> = {};
    while (message[at] === ' ') {
      const name = /^[^ =\]"]+/.exec(message.slice(at + 1))![0];
      at += 1 + name.length;
      expect(message.slice(at, at + 2)).toBe('="');
      at += 2;
      let value = '';
      while (message[at] !== '"') {
        if (message[at] === '\\' && ['"', '\\', ']'].includes(message[at + 1]!)) at += 1;
        value += message[at];
        at += 1;
      }
      params[name] = value;
      at += 1;
    }
    expect(message[at]).toBe(']');
    at += 1;
    elements.push({ id, params });
  }
  expect(message.slice(at, at + 2)).toBe(' \uFEFF');
  return elements;
}

describe('RFC 5424 syslog over RFC 5425 frames', () => {
  const batch = fixedBatch();

  it('a denied request as one exact message (golden): PRI 108, its time, host, app, MSGID, SD, BOM and the exact line', () => {
    const item = batch.items[1]!;
    if (item.type !== 'record') throw new Error('fixture');
    expect(syslogMessage(item, SOURCE)).toBe(
      `<108>1 2025-03-04T05:06:07.891Z laptop-7 airlock - net.denied [airlock@32473 trail="${SOURCE.trailId}" n="8" prev="${item.record.prev}" hash="${item.record.hash}" task="01JTASK0000000000000000000" redelivery="1"] \uFEFF${item.line}`,
    );
  });

  it('PRI is facility 13 with the item\'s severity; MSGIDs name skipped ranges and heads; every record\'s MSG re-hashes', () => {
    const messages = readFrames(syslogFrames(batch));
    expect(messages).toHaveLength(batch.items.length);
    expect(messages.map((m) => /^<(\d+)>1 \S+ \S+ airlock - (\S+) /.exec(m)!.slice(1))).toEqual([
      ['110', 'task.started'], ['108', 'net.denied'], ['107', 'cred.misuse'], ['110', 'airlock.skipped'], ['110', 'cred.used'], ['110', 'airlock.head'],
    ]);
    for (const [index, message] of messages.entries()) {
      const msg = message.slice(message.indexOf(' \uFEFF') + 2);
      const item = batch.items[index]!;
      if (item.type === 'record') expect(msg).toBe(item.line);
      if (item.type === 'record') expect(rehashes(msg)).toBe(true);
      if (item.type === 'skipped') expect(JSON.parse(msg)).toMatchObject({ airlock: 'skipped', trail: SOURCE.trailId, from: 10, to: 11, count: 2, prev: item.prev, lastHash: item.lastHash });
      if (item.type === 'head') expect(JSON.parse(msg)).toMatchObject({ airlock: 'head', signed: item.signed, publicKey: item.publicKeyPem, fingerprint: item.fingerprint });
    }
    expect(messages[3]).toMatch(/^<110>1 - laptop-7 /); // a skipped range has no time of its own: NILVALUE
  });

  it('MSG-LEN counts octets, not characters', () => {
    expect(syslogFrame('é€😀').toString('utf8')).toBe('9 é€😀');
  });

  it('escapes ", \\ and ] in SD-PARAM values and drops control characters', () => {
    expect(sdValue('a"b\\c]d\ne\r\u2028f')).toBe('a\\"b\\\\c\\]def');
  });

  it('hostile task, host and kind cannot start a second frame, a second SD element or another field', () => {
    const hostile = '"] [evil@1 x="1"]\n99 <13>1 - forged - - - injected\r\n';
    const bad = fixedBatch({ task: hostile, kind: `net.request ${hostile}` as never });
    const hostileSource = { ...SOURCE, host: `laptop ${hostile}` };
    const stream = syslogFrames({ ...bad, source: hostileSource } as ForwardBatch);
    const messages = readFrames(stream);
    expect(messages).toHaveLength(bad.items.length);
    for (const message of messages) {
      const sd = structuredData(message);
      expect(sd.map((e) => e.id)).toEqual(['airlock@32473']);
      expect(message).toMatch(/^<\d+>1 \S+ - airlock - \S+ \[/); // HOSTNAME → NILVALUE
    }
    const first = structuredData(messages[0]!)[0]!;
    expect(first.params.task).toBe(hostile.replace(/[\r\n]/g, ''));
    expect(messages[0]).toMatch(/^<110>1 \S+ - airlock - - \[/); // a kind that is not a MSGID → NILVALUE
    const tooLong = fixedBatch({ kind: 'x'.repeat(33) as never });
    expect(syslogMessage(tooLong.items[0]!, { ...SOURCE, host: 'h'.repeat(256) })).toMatch(/^<110>1 \S+ - airlock - - \[/);
  });
});

describe('the webhook\'s NDJSON', () => {
  const batch = fixedBatch();

  it('one object per item, in order, each record\'s stored line embedded verbatim (golden for the record line)', () => {
    const body = webhookBody(batch).toString('utf8');
    const lines = body.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(batch.items.length);
    const item = batch.items[1]!;
    if (item.type !== 'record') throw new Error('fixture');
    expect(lines[1]).toBe(`{"airlock":"record","trail":"${SOURCE.trailId}","host":"laptop-7","user":"ada","version":"1.4.0","redelivery":true,"record":${item.line}}`);
    for (const [index, line] of lines.entries()) {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      const source = batch.items[index]!;
      expect(parsed.airlock).toBe(source.type);
      if (source.type === 'record') {
        // The exact bytes: the record's line is a substring of the object, and it re-hashes.
        expect(line.endsWith(`,"record":${source.line}}`)).toBe(true);
        expect(rehashes(source.line)).toBe(true);
      }
    }
    expect(JSON.parse(lines[3]!)).toEqual({ airlock: 'skipped', trail: SOURCE.trailId, host: 'laptop-7', user: 'ada', version: '1.4.0', redelivery: false, from: 10, to: 11, count: 2, prev: (batch.items[3] as { prev: string }).prev, lastHash: (batch.items[3] as { lastHash: string }).lastHash });
    const head = batch.items[5]!;
    if (head.type !== 'head') throw new Error('fixture');
    expect(JSON.parse(lines[5]!)).toEqual({ airlock: 'head', trail: SOURCE.trailId, host: 'laptop-7', user: 'ada', version: '1.4.0', signed: head.signed, publicKey: head.publicKeyPem, fingerprint: head.fingerprint });
  });

  it('a hostile task id or host stays inside its JSON string; a CR put in a stored line cannot end the NDJSON line', () => {
    const hostile = '"}\n{"airlock":"record","forged":true}\r\n';
    const bad = fixedBatch({ task: hostile });
    const tampered = bad.items[0]!;
    if (tampered.type !== 'record') throw new Error('fixture');
    const withCr = { ...bad, source: { ...SOURCE, host: hostile }, items: [{ ...tampered, line: tampered.line.replace(',"kind"', ',\r"kind"') }, ...bad.items.slice(1)] };
    const lines = webhookBody(withCr).toString('utf8').split('\n').slice(0, -1);
    expect(lines).toHaveLength(bad.items.length);
    for (const line of lines) expect((JSON.parse(line) as { host: string }).host).toBe(hostile);
    expect((JSON.parse(lines[1]!) as { record: { task: string } }).record.task).toBe(hostile);
  });
});
