// Every resource a sandbox can make the gateway spend is bounded, and open mode never reaches the
// machine itself: a hostile sandbox against the real gateway (fake clock for every time limit).
import { describe, expect, it } from 'vitest';
import { sandboxApi } from '../../main/core/tasks/sandbox-api.js';
import { connectThrough, exchange } from '../helpers/gateway-client.js';
import { gatewayUnderAttackForFile, type GatewayUnderAttack, TEST_TIMEOUTS } from '../helpers/gateway-under-attack.js';

let attack: GatewayUnderAttack;
// This machine's interfaces, as the gateway is told them (os.networkInterfaces() in the product).
const ownAddresses = ['127.0.0.1', '34.120.9.9', '2600:1f18:9::9'];
const crashes = gatewayUnderAttackForFile((started) => (attack = started), {
    hostAddresses: () => ownAddresses,
    names: { 'myself.vendor.test': '34.120.9.9', 'myself6.vendor.test': '2600:1f18:9::9', 'renumbered.vendor.test': '34.120.9.10' },
  });

async function connectStatus(t: { auth: string }, authority: string): Promise<{ status: number; reason: string }> {
  const { status, socket } = await connectThrough(attack.port, t.auth, authority);
  socket.destroy();
  return { status, reason: String(attack.events.filter((e) => e.kind === 'net.denied').at(-1)?.data.reason ?? '') };
}

describe('open mode never reaches this machine, and only global unicast counts as public', () => {
  it('a name resolving to one of this machine\'s own addresses is refused like loopback; a local rule still opens it', async () => {
    const t = await attack.task({ mode: 'open', allow: [] });
    expect(await connectStatus(t, 'myself.vendor.test:443')).toEqual({ status: 403, reason: 'myself.vendor.test resolves to 34.120.9.9, an address of this machine' });
    expect(await connectStatus(t, 'myself6.vendor.test:443')).toMatchObject({ status: 403, reason: expect.stringMatching(/an address of this machine/) });
    expect(await connectStatus(t, '34.120.9.9:22')).toMatchObject({ status: 403, reason: '34.120.9.9 is an address of this machine' });
    const local = await attack.task({ mode: 'open', allow: [], local: ['myself.vendor.test:443'] });
    expect((await connectStatus(local, 'myself.vendor.test:443')).status).not.toBe(403); // admitted (the test dialer has no route: 502)
    expect(local.of('net.request').at(-1)?.decision).toMatchObject({ allow: true, rule: 'local:myself.vendor.test:443' });
  });

  it('the list of this machine\'s addresses is read again as interfaces change', async () => {
    const t = await attack.task({ mode: 'open', allow: [] });
    expect((await connectStatus(t, 'renumbered.vendor.test:443')).status).toBe(502); // public, not ours: admitted
    ownAddresses.push('34.120.9.10'); // a new interface came up
    attack.clock.advance(6_000);
    expect(await connectStatus(t, 'renumbered.vendor.test:443')).toMatchObject({ status: 403, reason: expect.stringMatching(/an address of this machine/) });
  });

  it.each([
    ['[::22.33.44.55]:443', /IPv4-compatible/],
    ['[::ffff:22.33.44.55]:443', /IPv4-mapped/],
    ['[64:ff9b::2233:4455]:443', /NAT64/],
    ['[2002:2221:2c2d::1]:443', /6to4/],
    ['[2001:0:4136:e378:8000:63bf:3fff:fdd2]:443', /Teredo/],
    ['[2001:db8::1]:443', /documentation/],
    ['[3fff::1]:443', /documentation/],
    ['[4000::1]:443', /outside global unicast/],
    ['[2001:10::1]:443', /ORCHID/],
    ['[2001:2::1]:443', /benchmarking/],
    ['192.0.2.1:443', /documentation/],
    ['198.18.0.1:443', /documentation/],
    ['240.0.0.1:443', /documentation/],
    ['0.1.2.3:443', /unspecified/],
    ['100.64.0.1:443', /carrier-grade NAT/],
    ['192.88.99.1:443', /documentation/],
  ])('CONNECT %s in open mode: refused before any dial', async (authority, reason) => {
    const t = await attack.task({ mode: 'open', allow: [] });
    const answer = await connectStatus(t, authority);
    expect(answer.status).toBe(403);
    expect(answer.reason).toMatch(reason);
  });
});

describe('minted certificates are rate-limited before minting', () => {
  it('a sandbox that opens ever new names under a wildcard grant gets 429 past the rate, and a violation', async () => {
    const t = await attack.task({ grants: [{ credential: 'wild-api', env: 'WILD' }] });
    const statuses: number[] = [];
    for (let i = 0; i < 62; i++) statuses.push((await connectStatus(t, `n${i}.mint.vendor.test:443`)).status);
    expect(statuses.slice(0, 60).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(60)).toEqual([429, 429]);
    expect(t.of('policy.violation').map((e) => e.data.rule)).toEqual(['rate.certificates', 'rate.certificates']);
    expect((await connectStatus(t, 'n1.mint.vendor.test:443')).status).toBe(200); // already minted: served from the cache
    expect(crashes.failures).toEqual([]);
  });
});

describe('the in-sandbox API is bounded', () => {
  /** A task whose sandbox can call the real in-sandbox API (its actions recorded on the test's bus). */
  const apiTask = (rate?: { requestsPerMinute?: number; bytes?: number }) =>
    attack.task({ ...(rate ? { rate } : {}), sandboxApi: sandboxApi({ task: 'api', agent: { name: 'a', digest: '' }, bus: attack.bus, tree: undefined, spawn: undefined }) });
  const action = (t: { auth: string }, body: string) => `POST http://airlock.internal/v1/actions HTTP/1.1\r\nHost: airlock.internal\r\nProxy-Authorization: ${t.auth}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;

  it('an action over 64 KiB is refused (413) before it is read, and logged', async () => {
    const t = await apiTask();
    const big = JSON.stringify({ type: 'tool_call', blob: 'x'.repeat(70 * 1024) });
    const answer = await exchange(await t.bound(), action(t, big));
    expect(answer).toMatch(/^HTTP\/1\.1 413[^]*over 65536 bytes/);
    expect(t.of('net.denied').at(-1)?.data).toMatchObject({ host: 'airlock.internal', status: 413 });
    expect(attack.events.filter((e) => e.kind === 'agent.action' && JSON.stringify(e.data).includes('xxxx'))).toEqual([]);
  });

  it('an action nested deeper than a record needs is refused', async () => {
    const t = await apiTask();
    const deep = `{"type":"x","a":${'['.repeat(5_000)}${']'.repeat(5_000)}}`;
    expect(await exchange(await t.bound(), action(t, deep))).toMatch(/^HTTP\/1\.1 400[^]*nests deeper/);
  });

  it('a body that trickles is cut after the API\'s body time (fake clock), with a 408 in the log', async () => {
    const t = await apiTask();
    const socket = await t.bound();
    const answer = exchange(socket, `POST http://airlock.internal/v1/actions HTTP/1.1\r\nHost: airlock.internal\r\nProxy-Authorization: ${t.auth}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"type":`);
    await new Promise((r) => setTimeout(r, 50)); // the head and first bytes reach the gateway (real sockets)
    attack.clock.advance(TEST_TIMEOUTS.apiBodyMs + 1_000);
    await answer;
    expect(t.of('net.denied').at(-1)?.data).toMatchObject({ status: 408, reason: expect.stringMatching(/did not arrive within 2 s/) });
  });

  it('actions count against the task\'s request rate and byte budget', async () => {
    const t = await apiTask({ requestsPerMinute: 3 });
    const statuses: string[] = [];
    for (let i = 0; i < 4; i++) statuses.push(/^HTTP\/1\.1 (\d{3})/.exec(await exchange(await t.bound(), action(t, '{"type":"tool_call"}')))![1]!);
    expect(statuses).toEqual(['202', '202', '202', '429']);
    expect(t.of('policy.violation').map((e) => e.data.rule)).toEqual(['rate.requestsPerMinute']);
    const b = await apiTask({ bytes: 200 });
    // The call that crosses the budget is cut (as any transfer that crosses it); the next is refused.
    expect(await exchange(await b.bound(), action(b, JSON.stringify({ type: 'note', text: 'y'.repeat(300) })))).toBe('');
    expect(await exchange(await b.bound(), action(b, '{"type":"tool_call"}'))).toMatch(/^HTTP\/1\.1 429[^]*rate\.bytes/);
    expect(b.of('policy.violation').map((e) => e.data.rule)).toEqual(['rate.bytes', 'rate.bytes']);
  });

  it('the same API through a CONNECT tunnel (as Node\'s fetch reaches it) has the same caps', async () => {
    const t = await apiTask();
    const { status, socket } = await connectThrough(attack.port, t.auth, 'airlock.internal:80');
    expect(status).toBe(200);
    const big = JSON.stringify({ type: 'tool_call', blob: 'x'.repeat(70 * 1024) });
    expect(await exchange(socket, `POST /v1/actions HTTP/1.1\r\nHost: airlock.internal\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\nConnection: close\r\n\r\n${big}`)).toMatch(/^HTTP\/1\.1 413/);
    expect(crashes.failures).toEqual([]);
  });
});
