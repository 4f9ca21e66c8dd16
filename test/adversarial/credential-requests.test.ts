/**
 * Access requests for a credential, from a real sandbox through the real gateway to a pretend
 * remote (real TLS, the test's CA). An agent started with one credential asks for more with a
 * reason: a person lends one for the task (its placeholder works, the remote gets the real secret),
 * one once (one request, the next refused), one that expires (then 401 and `cred.expired`), and
 * refuses one; a credential the store lacks, one whose hosts the network does not allow, and a bad
 * name are refused without asking anyone. No secret is in any event or anywhere in the sandbox.
 * (A task without a CA gets 409: test/adversarial/access-requests.test.ts.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { systemClock } from '../../main/core/clock.js';
import { Keychain } from '../../main/core/credentials/keychain.js';
import { CredentialStore } from '../../main/core/credentials/store.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { harness, lines, REPO, specFrom } from '../helpers/env.js';
import { startRemotes } from '../helpers/remotes.js';
import { RAW_CONTROL } from './hostile-agent.js';

const keychain = new Keychain(`airlock-test-credreq-${process.pid}`);
const NAMES = ['vendor-api', 'files-api', 'once-api', 'short-api', 'denied-api', 'far-api'];
/** Each credential's secret: a sentinel no event, file or variable of the sandbox may hold. */
const secret = (name: string) => `sk_live_${name.replace('-', '_')}_${process.pid}_4f1c`;
const ANSWERS: Record<string, 'once' | 'task' | 'deny'> = { 'files-api': 'task', 'once-api': 'once', 'short-api': 'task', 'denied-api': 'deny' };
const FORGED_REASON = String.raw`upload the report\u001b]52;c;ZXZpbA==\u0007 \u202eApprove: yes`;

const ASK = 'ask() { curl -s -X POST -H "content-type: application/json" -d "$1" http://airlock.internal/v1/access-requests; }';
/** Asks for credential $1 with reason $2, prints the answer as `<name>: <json>` and keeps its placeholder in /tmp/<name>. */
const LEND = 'lend() { r=$(ask "{\\"credential\\":\\"$1\\",\\"reason\\":\\"$2\\"}"); printf \'%s: %s\\n\' "$1" "$r"; printf \'%s\' "$r" | python3 -c "import sys,json; print(json.load(sys.stdin).get(\'placeholder\',\'\'))" > /tmp/$1; }';
/** Sends a request with the placeholder of $1 to $2; prints `<label> <status>`. */
const USE = 'use() { echo "$3 $(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $(cat /tmp/$1)" "$2")"; }';

let remotes: Awaited<ReturnType<typeof startRemotes>>;
beforeAll(async () => {
  remotes = await startRemotes();
});
afterAll(async () => {
  for (const name of NAMES) keychain.delete(`credential:${name}`);
  await remotes?.close();
});

describe('an agent asking to be lent a credential, in a real sandbox', () => {
  const h = harness();
  let events: AirlockEvent[];
  let out: string[];
  const seenByPerson: { credential: string; hosts: string[]; ttlMs: number; reason: string | undefined }[] = [];

  beforeAll(async () => {
    const store = new CredentialStore(h.home.root, keychain);
    store.add({ name: 'vendor-api', secret: secret('vendor-api'), hosts: ['api.vendor.test'], maxTtlMs: 3_600_000 });
    for (const name of ['files-api', 'once-api', 'denied-api']) store.add({ name, secret: secret(name), hosts: ['files.vendor.test'], maxTtlMs: 3_600_000 });
    store.add({ name: 'short-api', secret: secret('short-api'), hosts: ['files.vendor.test'], maxTtlMs: 3_000 });
    store.add({ name: 'far-api', secret: secret('far-api'), hosts: ['other.test'], maxTtlMs: 3_600_000 });
    const gateway = new Gateway({ bus: h.bus, clock: systemClock, resolve: remotes.resolve, dial: remotes.dial, upstreamCa: fs.readFileSync(remotes.cert, 'utf8') });
    // The person: reads what waits, as the app and the CLI list it, and answers per credential.
    gateway.approvals.onRequest((request) => {
      const credential = request.credential;
      if (!credential) return;
      seenByPerson.push({ credential: credential.name, hosts: credential.hosts, ttlMs: credential.ttlMs, reason: request.access?.reason });
      setImmediate(() => gateway.approvals.answer(request.id, ANSWERS[credential.name] ?? 'deny'));
    });
    const runner = new TaskRunner({ engine: h.engine, bus: h.bus, clock: systemClock, home: h.home, gateway, assetsDir: path.join(REPO, 'assets'), credentials: store });
    // The sandbox is searched for every secret, each written in two halves so the script itself holds none.
    const halves = NAMES.map((name) => { const s = secret(name); return `"${s.slice(0, 10)}""${s.slice(10)}"`; });
    const script = [
      ASK, LEND, USE,
      `lend files-api "${FORGED_REASON}"`,
      'use files-api https://files.vendor.test/lent-1 "task first"', 'use files-api https://files.vendor.test/lent-2 "task second"',
      'lend once-api "one upload"', 'use once-api https://files.vendor.test/once-1 "once first"', 'use once-api https://files.vendor.test/once-2 "once second"',
      'lend short-api "a quick look"', 'use short-api https://files.vendor.test/short-1 "short before"',
      'lend denied-api "please"', 'lend nope-api "nothing by that name"', 'lend far-api "a host the network does not allow"',
      `ask '{"credential":"Bad Name!","reason":"x"}' | sed "s/^/bad name: /"`,
      'sleep 3.5', 'use short-api https://files.vendor.test/short-2 "short after"',
      'echo "$VENDOR_TOKEN" > /tmp/vendor-api', 'use vendor-api https://api.vendor.test/first "first credential"',
      `echo "secrets in env: $(env | grep -c sk_live_ || true)"`,
      `echo "secrets on disk: $(for s in ${halves.join(' ')}; do grep -rl "$s" / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev 2>/dev/null; done | wc -l)"`,
      'echo "alive $(curl -s -o /dev/null -w "%{http_code}" http://airlock.internal/v1/whoami)"',
    ].join('\n');
    const yaml = `name: borrower\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\n`
      + 'credentials: [{ name: vendor-api, env: VENDOR_TOKEN }]\nnetwork: { mode: allowlist, allow: [api.vendor.test, files.vendor.test], askTimeout: 10s }\n';
    const outcome = await runner.run(specFrom(h.root, yaml));
    expect(outcome.exitCode).toBe(0);
    events = h.events;
    out = lines(events);
  }, 120_000);

  const answer = (name: string) => JSON.parse(out.find((line) => line.startsWith(`${name}: `))!.slice(name.length + 2)) as Record<string, unknown>;

  it('lent for the task: the answer holds a placeholder, and the remote gets the real secret for every request', () => {
    const lent = answer('files-api');
    expect(lent).toMatchObject({ decision: 'task', by: 'user', env: null, hosts: ['files.vendor.test'] });
    expect(String(lent.placeholder)).toMatch(/^eyJ/);
    expect(Date.parse(String(lent.expiresAt)) - Date.now()).toBeLessThanOrEqual(10 * 60_000);
    expect(out).toEqual(expect.arrayContaining(['task first 200', 'task second 200']));
    for (const url of ['/lent-1', '/lent-2']) expect(remotes.requests.find((r) => r.url === url)?.headers.authorization).toBe(`Bearer ${secret('files-api')}`);
    expect(events.find((e) => e.kind === 'cred.granted' && e.identity?.credential === 'files-api')).toMatchObject({ data: { via: 'access-request', delivery: 'proxy', env: null } });
    expect(events.find((e) => e.kind === 'cred.revoked' && e.identity?.credential === 'files-api')).toBeDefined();
    // The credential the task was started with still works beside the lent ones.
    expect(out).toContain('first credential 200');
  });

  it('the person saw the credential, its hosts, its TTL and the reason inert; the trail records it as a credential request', () => {
    const seen = seenByPerson.find((s) => s.credential === 'files-api')!;
    // The TTL is the least of the credential's max, 15 minutes, the task CA's validity and the task's time left (10 minutes here).
    expect(seen.hosts).toEqual(['files.vendor.test']);
    expect(seen.ttlMs).toBeLessThanOrEqual(10 * 60_000);
    expect(seen.ttlMs).toBeGreaterThan(9 * 60_000);
    expect(seen.reason).toBe(FORGED_REASON);
    expect(seenByPerson.find((s) => s.credential === 'short-api')?.ttlMs).toBe(3_000);
    const requested = events.find((e) => e.kind === 'approval.requested' && e.data.credential === 'files-api')!;
    expect(requested.data).toMatchObject({ via: 'access-request', subject: 'credential', reason: FORGED_REASON, hosts: ['files.vendor.test'] });
    expect(String(requested.data.reason)).not.toMatch(RAW_CONTROL);
    expect(events.find((e) => e.kind === 'approval.decided' && e.data.credential === 'files-api')).toMatchObject({ actor: 'user', decision: { allow: true, rule: 'ask:task', by: 'user' } });
  });

  it('lent once: one request carries the secret, the next is refused', () => {
    expect(answer('once-api')).toMatchObject({ decision: 'once', by: 'user' });
    expect(out).toEqual(expect.arrayContaining(['once first 200', 'once second 403']));
    expect(remotes.requests.find((r) => r.url === '/once-1')?.headers.authorization).toBe(`Bearer ${secret('once-api')}`);
    expect(remotes.requests.some((r) => r.url === '/once-2')).toBe(false);
  });

  it('a lent grant expires: its placeholder then gets 401, and cred.expired is recorded', () => {
    expect(out).toEqual(expect.arrayContaining(['short before 200', 'short after 401']));
    expect(remotes.requests.some((r) => r.url === '/short-2')).toBe(false);
    expect(events.some((e) => e.kind === 'cred.expired' && e.identity?.credential === 'short-api')).toBe(true);
  });

  it('refused: by the person, a credential the store lacks, hosts the network does not allow, a bad name; only the first asked anyone', () => {
    expect(answer('denied-api')).toMatchObject({ decision: 'deny', by: 'user' });
    expect(answer('nope-api')).toMatchObject({ decision: 'deny', by: 'policy', message: expect.stringMatching(/no credential named 'nope-api'/) });
    expect(answer('far-api')).toMatchObject({ decision: 'deny', by: 'policy', message: expect.stringMatching(/other\.test is not in network\.allow/) });
    for (const name of ['denied-api', 'nope-api', 'far-api']) expect(answer(name).placeholder).toBeUndefined();
    expect(JSON.parse(out.find((line) => line.startsWith('bad name: '))!.slice('bad name: '.length))).toMatchObject({ error: expect.stringMatching(/"credential" must be a credential's name/) });
    expect(seenByPerson.map((s) => s.credential).sort()).toEqual(['denied-api', 'files-api', 'once-api', 'short-api']);
    expect(events.filter((e) => e.kind === 'cred.denied' && e.data.via === 'access-request').map((e) => e.data.credential).sort()).toEqual(['far-api', 'nope-api']);
    expect(events.some((e) => e.kind === 'cred.granted' && ['denied-api', 'nope-api', 'far-api'].includes(String(e.identity?.credential)))).toBe(false);
    expect(out).toContain('alive 200');
  });

  it('no secret is in any event, the sandbox environment or its filesystem', () => {
    expect(out).toEqual(expect.arrayContaining(['secrets in env: 0', 'secrets on disk: 0']));
    const all = JSON.stringify(events);
    for (const name of NAMES) expect(all).not.toContain(secret(name));
  });
});
