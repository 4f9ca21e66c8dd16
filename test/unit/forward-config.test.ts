import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../main/core/audit/bus.js';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { Backoff } from '../../main/core/forward/backoff.js';
import { checkForwarder } from '../../main/core/forward/config.js';
import { readOrMakeTrailId } from '../../main/core/forward/trail-id.js';
import { homeLayout } from '../../main/core/home.js';
import { ForwarderDesk } from '../../main/core/service/forwarders.js';
import { event, segmentFiles } from '../helpers/audit.js';
import { CursorFile } from '../../main/core/forward/cursor.js';
import { removeTempDirs, tempDir } from '../helpers/env.js';
import { forwardingHome, scriptedCollector } from '../helpers/forward-pump.js';

afterEach(() => removeTempDirs());

describe('forwarder configuration', () => {
  it('refuses what would leak or mislead, each in one line with the fix', () => {
    const base = { name: 'siem', kind: 'otlp-http' as const, url: 'https://collector.test:4318/v1/logs' };
    expect(checkForwarder(base)).toMatchObject({ encoding: 'protobuf', headEveryMs: 60_000, enabled: true });
    expect(checkForwarder({ ...base, kind: 'syslog-tls', url: 'tls://siem.test' }).url).toBe('tls://siem.test:6514');
    for (const [input, message] of [
      [{ ...base, url: 'http://collector.test/v1/logs' }, /is plain http:\/\/: Airlock sends the audit trail only over verified TLS/],
      [{ ...base, url: 'https://user:pw@collector.test/' }, /user name or password/],
      [{ ...base, kind: 'syslog-tls', url: 'https://siem.test' }, /tls:\/\/host:port/],
      [{ ...base, kind: 'webhook', encoding: 'json' }, /for otlp-http only/],
      [{ ...base, name: 'Bad_Name' }, /not a forwarder name/],
      [{ ...base, caFile: 'ca.pem' }, /absolute path/],
      [{ ...base, headEveryMs: 1000 }, /every 5 s to 1 day/],
      [{ ...base, filter: { kinds: ['net.nothing'] } }, /not an event kind/],
      [{ ...base, filter: { decisions: ['maybe'] } }, /allow or deny/],
    ] as const) {
      expect(() => checkForwarder(input as never)).toThrow(message);
    }
    expect(checkForwarder({ ...base, filter: { kinds: ['net.*'], decisions: ['deny'] } }).filter).toEqual({ kinds: ['net.*'], decisions: ['deny'] });
  });

  it('makes the trail id once, 0600, and refuses a damaged one by name', () => {
    const dir = tempDir();
    const id = readOrMakeTrailId(dir);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(readOrMakeTrailId(dir)).toBe(id);
    expect(fs.statSync(path.join(dir, 'trail-id')).mode & 0o777).toBe(0o600);
    fs.writeFileSync(path.join(dir, 'trail-id'), 'not-an-id\n');
    expect(() => readOrMakeTrailId(dir)).toThrow(/trail-id \(the trail's id\) is damaged/);
  });
});

describe('backoff', () => {
  it('grows from 1 s to 5 min, with full jitter between the first step and the ceiling', () => {
    const high = new Backoff({ random: () => 1 });
    expect(Array.from({ length: 12 }, () => high.next())).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000, 300000, 300000]);
    const low = new Backoff({ random: () => 0 });
    expect(Array.from({ length: 5 }, () => low.next())).toEqual([1000, 1000, 1000, 1000, 1000]);
    const half = new Backoff({ random: () => 0.5 });
    half.next();
    expect(half.next()).toBe(1500);
    expect(half.next(60_000)).toBe(60_000); // Retry-After is honoured
    half.reset();
    expect(half.next()).toBe(1000);
  });
});

describe('the forwarders\' use cases', () => {
  function desk(home: ReturnType<typeof forwardingHome>) {
    const bus = new EventBus();
    bus.subscribe((e) => home.store.append(e));
    const recorded: AirlockEvent[] = [];
    bus.subscribe((e) => recorded.push(e));
    const forwarding = home.open(scriptedCollector());
    const forwarders = new ForwarderDesk({ forwarding, bus, audit: () => home.store, keychain: home.keychain, home: homeLayout(home.home), clock: home.clock, user: () => 'alice' });
    return { forwarders, forwarding, recorded };
  }

  it('records an added filter and a removal in the trail, keeps the secret in the keychain only', async () => {
    const home = forwardingHome();
    const { forwarders, forwarding, recorded } = desk(home);
    const added = await forwarders.add({ name: 'quiet', kind: 'webhook', url: 'https://hook.test/in', filter: { kinds: ['proc.*'] } }, 's3cret-token');
    expect(added).toMatchObject({ name: 'quiet', hasSecret: true, filter: { kinds: ['proc.*'] } });
    expect(recorded.at(-1)).toMatchObject({ kind: 'audit.forward', actor: 'user', data: { action: 'added', name: 'quiet', filter: { kinds: ['proc.*'] }, by: 'alice' } });
    expect(JSON.stringify(recorded)).not.toContain('s3cret-token');
    expect(fs.readFileSync(path.join(home.home, 'forwarders.json'), 'utf8')).not.toContain('s3cret-token');
    expect(home.keychain.get('audit-forwarder:quiet')).toBe('s3cret-token');
    await expect(forwarders.add({ name: 'quiet', kind: 'webhook', url: 'https://hook.test/in' })).rejects.toThrow(/exists/);
    await expect(forwarders.add({ name: 'bad', kind: 'webhook', url: 'https://hook.test/in' }, 'a\r\nX-Evil: 1')).rejects.toThrow(/control character/);
    await forwarders.remove('quiet');
    expect(recorded.at(-1)).toMatchObject({ kind: 'audit.forward', data: { action: 'removed', name: 'quiet' } });
    expect(home.keychain.get('audit-forwarder:quiet')).toBeNull();
    expect((await forwarders.list()).map((f) => f.name)).toEqual(['siem']);
    await forwarding.close();
  });

  it('keeps the segments holding records a forwarder\'s collector has not acknowledged, and says for whom', async () => {
    const home = forwardingHome();
    // Three old days, one segment each, and today's.
    for (const day of ['2026-11-01', '2026-11-02', '2026-11-03']) {
      for (let i = 0; i < 10; i++) home.store.append(event({ time: `${day}T10:00:0${i}.000Z` }));
      await home.store.flush();
    }
    for (let i = 0; i < 3; i++) home.store.append(event({ time: `2026-11-28T10:00:0${i}.000Z` }));
    await home.store.flush();
    await new CursorFile(home.auditDir, 'siem').write({ v: 1, acked: { n: 15, hash: 'a'.repeat(64), time: '2026-11-02T10:00:04.000Z' }, sentThrough: 15, headSent: null });
    const bus = new EventBus();
    bus.subscribe((e) => home.store.append(e));
    const clock = { now: () => Date.parse('2026-11-28T12:00:00Z'), setTimeout: home.clock.setTimeout.bind(home.clock) };
    const forwarders = new ForwarderDesk({ bus, audit: () => home.store, keychain: home.keychain, home: homeLayout(home.home), clock, user: () => 'alice' });
    const pruned = await forwarders.prune(home.store, 0);
    // Only the first day's segment (records 1..10, all acknowledged) goes; 11..30 wait for the collector.
    expect(pruned).toEqual({ removedSegments: 1, removedRecords: 10, heldSegments: 2, heldFor: [{ forwarder: 'siem', ackedN: 15 }] });
    expect(segmentFiles(home.auditDir).map((f) => path.basename(f).slice(0, 12))).toEqual(['000000000011', '000000000021', '000000000031']);
  });
});
