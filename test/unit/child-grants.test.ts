import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../main/core/audit/bus.js';
import { systemClock } from '../../main/core/clock.js';
import { TaskCredentials, type GrantRequest } from '../../main/core/tasks/grants.js';
import { CredentialStore } from '../../main/core/credentials/store.js';
import { narrowChildGrants } from '../../main/core/tasks/child-grants.js';
import { tempDir } from '../helpers/env.js';
import { MemorySecrets } from '../helpers/memory-secrets.js';

const agent = { name: 'parent', digest: 'sha256:x' };

async function parentHolding(request: Partial<GrantRequest>): Promise<TaskCredentials> {
  const store = new CredentialStore(path.join(tempDir(), 'home'), new MemorySecrets());
  store.add({ name: 'api', secret: 'the-secret-value', hosts: ['api.vendor.test'], maxTtlMs: 3_600_000 });
  return TaskCredentials.open({ task: 't_parent', agent, requests: [{ credential: 'api', ttlMs: 60_000, delivery: 'env', env: 'TOKEN', ...request }], store, bus: new EventBus(), clock: systemClock });
}

const child = (request: Partial<GrantRequest>): GrantRequest => ({ credential: 'api', ttlMs: undefined, delivery: 'proxy', env: 'TOKEN', ...request });
const narrow = (parent: TaskCredentials, request: Partial<GrantRequest>) =>
  narrowChildGrants({ agent: 'kid', requests: [child(request)], wanted: ['api'], parent, now: systemClock.now() }).requests[0]!;

describe('a child\'s grant is its parent\'s narrowed', () => {
  // [parent's limits, child's limits, the child gets (or the refused field)]
  const table: [Partial<GrantRequest>, Partial<GrantRequest>, Partial<GrantRequest> | RegExp][] = [
    [{ methods: ['GET', 'POST'] }, { methods: ['get'] }, { methods: ['GET'] }],
    [{ methods: ['GET'] }, {}, { methods: ['GET'] }],
    [{}, { methods: ['PUT'] }, { methods: ['PUT'] }],
    [{ methods: ['GET'] }, { methods: ['DELETE'] }, /\.methods: DELETE share nothing/],
    [{ pathPrefix: '/v1/' }, { pathPrefix: '/v1/reports/' }, { pathPrefix: '/v1/reports/' }],
    [{ pathPrefix: '/v1/reports/' }, { pathPrefix: '/v1/' }, { pathPrefix: '/v1/reports/' }],
    [{ pathPrefix: '/v1/' }, {}, { pathPrefix: '/v1/' }],
    [{ pathPrefix: '/v1/' }, { pathPrefix: '/v2/' }, /\.pathPrefix: \/v2\/ is outside its parent's path \/v1\//],
    [{ pathPrefix: '/v1' }, { pathPrefix: '/v1-admin' }, /\.pathPrefix: \/v1-admin is outside its parent's path \/v1/],
    [{ uses: 5 }, { uses: 100 }, { uses: 5 }],
    [{ uses: 5 }, {}, { uses: 5 }],
    [{ uses: 5 }, { uses: 2 }, { uses: 2 }],
    [{}, { uses: 2 }, { uses: 2 }],
    [{ delivery: 'proxy' }, { delivery: 'env' }, /\.delivery: env, but its parent holds api as a placeholder/],
    [{ delivery: 'env' }, { delivery: 'proxy' }, { delivery: 'proxy' }],
    [{ delivery: 'env' }, { delivery: 'env' }, { delivery: 'env' }],
  ];
  it.each(table)('parent %j, child %j → %s', async (parentLimits, childLimits, expected) => {
    const parent = await parentHolding(parentLimits);
    if (expected instanceof RegExp) expect(() => narrow(parent, childLimits)).toThrow(expected);
    else expect(narrow(parent, childLimits)).toMatchObject(expected);
    parent.revokeAll();
  });

  it('never outlives the parent\'s grant, and refuses what the parent does not hold', async () => {
    const parent = await parentHolding({ ttlMs: 60_000 });
    expect(narrow(parent, { ttlMs: 3_600_000 }).ttlMs).toBeLessThanOrEqual(60_000);
    expect(() => narrowChildGrants({ agent: 'kid', requests: [child({ credential: 'other' })], wanted: ['other'], parent, now: systemClock.now() })).toThrow(/kid asks for other, which its parent does not hold/);
    expect(() => narrowChildGrants({ agent: 'kid', requests: [], wanted: ['api'], parent, now: systemClock.now() })).toThrow(/kid's manifest does not take credential api/);
    parent.revokeAll();
    expect(() => narrow(parent, {})).toThrow(/which its parent does not hold/);
  });

  it('a drawn grant counts every use against its parent too, and dies with it', async () => {
    const parent = await parentHolding({ delivery: 'proxy', uses: 2 });
    const kid = await TaskCredentials.open({ task: 't_kid', agent, requests: [narrow(parent, {})], store: undefined, bus: new EventBus(), clock: systemClock });
    expect(kid.redactions()).toEqual([{ value: 'the-secret-value', label: 'api' }]);
    const token = (await kid.placeholderEnv()).TOKEN!;
    const use = () => kid.authorize({ token, host: 'api.vendor.test', port: 443, method: 'GET', path: '/' });
    expect(await use()).toMatchObject({ ok: true });
    expect(parent.grants()[0]!.usesLeft).toBe(1);
    parent.revokeAll();
    expect(await use()).toMatchObject({ ok: false, kind: 'cred.denied', reason: 'the parent task\'s grant of api is revoked' });
    expect(kid.grants()[0]!.usesLeft).toBe(1); // a refused use is not counted
    kid.revokeAll();
  });
});
