// Red team on issue 13's fixes: attacks next to the ones fixed, against the real gateway code (a
// hostile sandbox as the peer, upstreams under the test's control). Each attack here got through
// before its fix. The server behind `*.vendor.test` is one TLS server with many virtual hosts:
// which one a connection reached is the server name (SNI) it was asked for.
import { beforeAll, describe, expect, it } from 'vitest';
import { connectThrough } from '../helpers/gateway-client.js';
import { answerByServerName, tlsThroughTunnel } from '../helpers/virtual-hosts.js';
import { gatewayUnderAttackForFile, type GatewayUnderAttack } from '../helpers/gateway-under-attack.js';

let attack: GatewayUnderAttack;
const crashes = gatewayUnderAttackForFile((started) => (attack = started));

/** The virtual host each connection to the many-named server reached, by its SNI. */
let reached: string[] = [];
beforeAll(() => {
  reached = answerByServerName(attack);
});

const tlsVia = (t: { auth: string }, authority: string, servername: string | undefined) => tlsThroughTunnel(attack, t.auth, authority, servername);

describe('red team: the server name of a plain CONNECT', () => {
  it('an SNI that only equals the CONNECT host once percent-decoded is refused: the server would read another name (its default site)', async () => {
    const t = await attack.task({ allow: ['shop.vendor.test'] });
    // The WHATWG host parser decodes %XX, so `%73hop.vendor.test` normalised to the allowed name,
    // while the server matches its virtual hosts on the bytes it got: no such name, default site.
    const spellings = ['%73hop.vendor.test', 'shop%2Evendor.test', 'SHOP%2evendor.test.', 'shop.vendor.test..'];
    const answers: string[] = [];
    for (const name of spellings) answers.push(await tlsVia(t, 'shop.vendor.test:443', name));
    for (const answer of answers) expect(answer).toMatch(/^error: .*unrecognized name/i);
    expect(reached.filter((vhost) => vhost.includes('%') || vhost.endsWith('..'))).toEqual([]);
    expect(t.of('net.denied').map((e) => e.decision?.rule)).toEqual(spellings.map(() => 'tls.sni'));
    // Airlock kept working: the allowed name (any case, a trailing dot) is still served.
    expect(await tlsVia(t, 'shop.vendor.test:443', 'Shop.Vendor.Test.')).toContain('vhost=Shop.Vendor.Test.');
    expect(crashes.failures).toEqual([]);
  });
});

describe('red team: asks', () => {
  it('a host a person refused is not asked about again in the same task: re-requesting it cannot wear the person down', async () => {
    const t = await attack.task({ allow: ['echo.vendor.test'], onUnknownHost: 'ask' });
    const first = connectThrough(attack.port, t.auth, 'exfil.vendor.test:443');
    await new Promise((resolve) => setTimeout(resolve, 30));
    attack.gateway.approvals.answer(attack.gateway.approvals.pending(t.id)[0]!.id, 'deny');
    expect((await first).status).toBe(403);
    // The agent asks again and again for what was just refused (in another spelling too).
    const again = await Promise.all(['exfil.vendor.test:443', 'EXFIL.vendor.test.:443'].map((authority) => connectThrough(attack.port, t.auth, authority)));
    expect(attack.gateway.approvals.pending(t.id)).toEqual([]);
    expect(again.map((a) => a.status)).toEqual([403, 403]);
    expect(t.of('approval.requested')).toHaveLength(1);
    expect(t.of('net.denied').filter((e) => e.decision?.rule === 'ask:deny')).toHaveLength(3);
    // Another host is still asked about: only the refused one stays refused.
    const other = connectThrough(attack.port, t.auth, 'docs.vendor.test:443');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(attack.gateway.approvals.pending(t.id).map((p) => p.host)).toEqual(['docs.vendor.test']);
    attack.gateway.approvals.answer(attack.gateway.approvals.pending(t.id)[0]!.id, 'deny');
    expect((await other).status).toBe(403);
    expect(crashes.failures).toEqual([]);
  });

  it('a deny no person gave (the CLI without a terminal) is the default\'s: not "a person refused", and the next request is asked again', async () => {
    const t = await attack.task({ allow: ['echo.vendor.test'], onUnknownHost: 'ask' });
    for (let round = 0; round < 2; round++) {
      const request = connectThrough(attack.port, t.auth, 'later.vendor.test:443');
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(attack.gateway.approvals.denyUnasked(attack.gateway.approvals.pending(t.id)[0]!.id)).toBe(true);
      expect((await request).status).toBe(403);
    }
    expect(t.of('approval.requested')).toHaveLength(2);
    expect(t.of('net.denied').map((e) => e.decision)).toEqual([{ allow: false, rule: 'ask:timeout', by: 'default' }, { allow: false, rule: 'ask:timeout', by: 'default' }]);
    expect(t.of('net.denied').map((e) => e.data.reason)).not.toContainEqual(expect.stringContaining('a person refused'));
  });
});
