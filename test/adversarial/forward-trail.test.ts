/**
 * A local writer of AIRLOCK_HOME (without the trail's key) against a forwarder (issue 19's red
 * team): a cursor moved forward by hand must not pass records over in silence.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../main/core/audit/bus.js';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { forwardersFile } from '../../main/core/forward/config.js';
import { CursorFile } from '../../main/core/forward/cursor.js';
import { Forwarding } from '../../main/core/forward/forwarding.js';
import type { TransportFactory } from '../../main/core/forward/types.js';
import { event, readLinesOf, segmentFiles } from '../helpers/audit.js';
import { removeTempDirs } from '../helpers/env.js';
import { forwardingHome, scriptedCollector, until } from '../helpers/forward-pump.js';

const open: Forwarding[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
  removeTempDirs();
});

type Home = ReturnType<typeof forwardingHome>;

async function write(home: Home, count: number): Promise<void> {
  for (let i = 0; i < count; i++) home.store.append(event());
  await home.store.flush();
}

/** A forwarding of `home` whose `audit.forward` notices are kept (as the engine's bus would record them). */
function openWithBus(home: Home, collector: ReturnType<typeof scriptedCollector>, onSend?: (notices: AirlockEvent[]) => void) {
  const bus = new EventBus();
  const notices: AirlockEvent[] = [];
  bus.subscribe((e) => notices.push(e));
  const transports: TransportFactory = (config, secret) => {
    const transport = collector.factory(config, secret);
    return { send: (batch, signal) => (onSend?.(notices), transport.send(batch, signal)), close: () => transport.close() };
  };
  const forwarding = new Forwarding({ home: home.home, auditDir: home.auditDir, key: () => home.signer, keychain: home.keychain, transports, clock: home.clock, version: 'test', random: () => 0.5, bus });
  forwarding.start();
  open.push(forwarding);
  return { forwarding, notices };
}

/** The stored hash of record n. */
function hashOf(home: Home, n: number): string {
  const line = segmentFiles(home.auditDir).flatMap(readLinesOf).find((l) => (JSON.parse(l) as { n: number }).n === n)!;
  return (JSON.parse(line) as { hash: string }).hash;
}

/** Forwards 10 records, stops, writes 20 more: the cursor says 10. */
async function forwardedTen(): Promise<{ home: Home; cursor: CursorFile }> {
  const home = forwardingHome();
  await write(home, 10);
  const first = home.open(scriptedCollector());
  await first.flush(60_000);
  await first.close();
  await write(home, 20);
  const cursor = new CursorFile(home.auditDir, 'siem');
  expect(cursor.read().acked?.n).toBe(10);
  return { home, cursor };
}

describe('a cursor moved forward by a local writer', () => {
  it('to a record whose hash is not the trail\'s: refused by name, nothing sent, said in the trail, retention holds everything', async () => {
    const { home, cursor } = await forwardedTen();
    const edited = { ...cursor.read(), acked: { n: 25, hash: 'f'.repeat(64), time: new Date().toISOString() }, sentThrough: 25 };
    fs.writeFileSync(cursor.file, JSON.stringify(edited));
    const collector = scriptedCollector();
    const { forwarding, notices } = openWithBus(home, collector);
    await until(async () => (await forwarding.status())[0]!.state === 'stopped', 'the refusal');
    const shown = (await forwarding.status())[0]!;
    expect(shown.lastError?.message).toContain(cursor.file);
    expect(shown.lastError?.message).toMatch(/acknowledged record 25 .*the trail's record 25 has hash/);
    expect(collector.sent).toEqual([]);
    expect(notices.filter((e) => e.kind === 'audit.forward').map((e) => e.data)).toEqual([expect.objectContaining({ action: 'failing', name: 'siem', reason: expect.stringContaining('damaged') })]);
    expect(forwarding.holdBack()).toMatchObject({ keepFrom: 1 });
  });

  it('past the trail\'s signed head: refused the same way', async () => {
    const { home, cursor } = await forwardedTen();
    fs.writeFileSync(cursor.file, JSON.stringify({ ...cursor.read(), acked: { n: 5000, hash: 'e'.repeat(64), time: new Date().toISOString() }, sentThrough: 5000 }));
    const collector = scriptedCollector();
    const { forwarding } = openWithBus(home, collector);
    await until(async () => (await forwarding.status())[0]!.state === 'stopped', 'the refusal');
    expect((await forwarding.status())[0]!.lastError?.message).toMatch(/acknowledged record 5000, past the trail's last signed record 30/);
    expect(collector.sent).toEqual([]);
  });

  it('to a real record with its real hash: not detectable here, but the collector sees the gap (the next record does not link)', async () => {
    const { home, cursor } = await forwardedTen();
    fs.writeFileSync(cursor.file, JSON.stringify({ ...cursor.read(), acked: { n: 25, hash: hashOf(home, 25), time: new Date().toISOString() }, sentThrough: 25 }));
    const collector = scriptedCollector();
    const { forwarding } = openWithBus(home, collector);
    await forwarding.flush(60_000);
    const first = collector.sent[0]!.items[0]!;
    expect(first.type === 'record' && first.record.n).toBe(26);
    expect(first.type === 'record' && first.record.prev).not.toBe(hashOf(home, 10)); // what the collector holds last
  });
});

describe('forwarders.json changed by hand', () => {
  it('a filter added behind the CLI\'s back is recorded in the trail before anything is sent under it; an unchanged restart records nothing', async () => {
    const { home } = await forwardedTen();
    forwardersFile(home.home).update((list) => list.map((c) => ({ ...c, filter: { kinds: ['net.*'] } })));
    const seenAtSend: unknown[][] = [];
    const { forwarding } = openWithBus(home, scriptedCollector(), (notices) => seenAtSend.push(notices.filter((e) => e.kind === 'audit.forward').map((e) => e.data)));
    await until(() => seenAtSend.length > 0, 'the first send');
    expect(seenAtSend[0]).toEqual([expect.objectContaining({ action: 'changed', name: 'siem', kind: 'webhook', filter: { kinds: ['net.*'] } })]);
    await forwarding.flush(60_000);
    await forwarding.close();
    open.splice(open.indexOf(forwarding), 1);

    const again = openWithBus(home, scriptedCollector());
    await again.forwarding.flush(60_000);
    expect(again.notices.filter((e) => e.kind === 'audit.forward')).toEqual([]);
  });
});
