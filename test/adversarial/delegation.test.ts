import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { systemClock } from '../../main/core/clock.js';
import { CredentialStore } from '../../main/core/credentials/store.js';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { loadManifestFile } from '../../main/core/policy/manifest.js';
import { AgentRegistry } from '../../main/core/policy/registry.js';
import { DelegationTree } from '../../main/core/tasks/delegation.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { harness, REPO, specFrom } from '../helpers/env.js';
import { MemorySecrets } from '../helpers/memory-secrets.js';
import { startRemotes } from '../helpers/remotes.js';

// Hostile parents and children in real sandboxes, through the real gateway and in-sandbox API:
// a child must never hold more than its parent (delivery, methods, path, uses, network), and what
// a child hands back must not carry a secret to its parent's sandbox.
const SECRET = `sk_live_DELEG_${process.pid}_4f1c9a`;
let remotes: Awaited<ReturnType<typeof startRemotes>>;
beforeAll(async () => {
  remotes = await startRemotes();
});
afterAll(async () => {
  await remotes.close();
});

function setup(agents: Record<string, string>) {
  const h = harness();
  const registry = new AgentRegistry(h.home.root, path.join(REPO, 'assets'));
  const files = Object.entries(agents).map(([name, yaml]) => {
    const file = path.join(h.root, `${name}.yaml`);
    fs.writeFileSync(file, yaml);
    return file;
  });
  // Twice: an approval pins the agents its manifest may start as they are approved at that moment.
  for (const file of [...files, ...files]) registry.approve(loadManifestFile(file), 'test');
  const store = new CredentialStore(h.home.root, new MemorySecrets());
  store.add({ name: 'vendor-api', secret: SECRET, hosts: ['api.vendor.test'], maxTtlMs: 3_600_000 });
  const gateway = new Gateway({ bus: h.bus, clock: systemClock, resolve: remotes.resolve, dial: remotes.dial, upstreamCa: fs.readFileSync(remotes.cert, 'utf8') });
  const runner = new TaskRunner({
    engine: h.engine, bus: h.bus, clock: systemClock, home: h.home, gateway, assetsDir: path.join(REPO, 'assets'),
    credentials: store, agents: registry, delegation: new DelegationTree(systemClock),
  });
  return { ...h, runner, run: (name: string) => runner.run(specFrom(h.root, fs.readFileSync(path.join(h.root, `${name}.yaml`), 'utf8'))) };
}

const agent = (name: string, script: string, rest: string) =>
  `name: ${name}\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\noutputs: [/workspace/out]\n${rest}\n`;
/** `code METHOD PATH`: the status of a request to the vendor API with the credential's placeholder (or value). */
const CODE = 'code() { curl -s -o /dev/null -w "%{http_code}" -X "$1" -H "Authorization: Bearer $VENDOR_TOKEN" "https://api.vendor.test$2"; }';
const spawn = (child: string) => `curl -s -X POST -H 'content-type: application/json' -d '{"agent":"${child}"}' http://airlock.internal/v1/tasks`;
const linesOf = (events: AirlockEvent[], agentName: string) => events.filter((e) => e.agent.name === agentName && e.kind === 'proc.stdout').map((e) => String(e.data.line));

describe('delegation never widens', () => {
  it('a child asking for the plaintext, other methods, another path, more uses or more network is refused or narrowed, and its uses are the parent\'s', async () => {
    const { events, engine, run } = setup({
      boss: agent('boss', [
        CODE,
        'echo "boss first $(code GET /v1/a)"',
        ...['plain-thief', 'wide-methods', 'wide-path', 'greedy'].map((c) => `echo "$(${spawn(c)})"`),
        'echo "boss after $(code GET /v1/b)"',
      ].join('; '), [
        'credentials: [{ name: vendor-api, env: VENDOR_TOKEN, methods: [GET, POST], pathPrefix: /v1/, uses: 3 }]',
        'network: { mode: allowlist, allow: [api.vendor.test] }',
        'delegate: { allow: [plain-thief, wide-methods, wide-path, greedy], maxDepth: 1, maxTasks: 10 }',
      ].join('\n')),
      'plain-thief': agent('plain-thief', 'echo "stolen $VENDOR_TOKEN"', 'credentials: [{ name: vendor-api, delivery: env, env: VENDOR_TOKEN }]\nnetwork: { mode: allowlist, allow: [api.vendor.test] }'),
      'wide-methods': agent('wide-methods', 'echo ran', 'credentials: [{ name: vendor-api, env: VENDOR_TOKEN, methods: [DELETE] }]\nnetwork: { mode: allowlist, allow: [api.vendor.test] }'),
      'wide-path': agent('wide-path', 'echo ran', 'credentials: [{ name: vendor-api, env: VENDOR_TOKEN, pathPrefix: /admin/ }]\nnetwork: { mode: allowlist, allow: [api.vendor.test] }'),
      greedy: agent('greedy', [
        CODE,
        'echo "secret in env: $(env | grep -c DELEG_ || true)"',
        'echo "delete $(code DELETE /v1/reports/x)"',
        'for i in 1 2 3; do echo "report$i $(code GET /v1/reports/$i)"; done',
        'echo "other $(curl -s -o /dev/null -w "%{http_code}" http://other.test/)"',
      ].join('; '), [
        'credentials: [{ name: vendor-api, env: VENDOR_TOKEN, methods: [GET, DELETE], pathPrefix: /v1/reports/, uses: 100 }]',
        'network: { mode: allowlist, allow: [api.vendor.test, other.test] }',
      ].join('\n')),
    });
    remotes.requests.length = 0;
    const outcome = await run('boss');
    expect(outcome.exitCode).toBe(0);

    // Refused before anything was created, each naming the field it would have widened.
    const refusals = events.filter((e) => e.kind === 'policy.violation' && e.data.rule === 'delegate.refused').map((e) => String(e.data.reason));
    expect(refusals).toEqual([
      expect.stringMatching(/^plain-thief credentials\[0\] \(vendor-api\)\.delivery: env, but its parent holds vendor-api as a placeholder/),
      expect.stringMatching(/^wide-methods credentials\[0\] \(vendor-api\)\.methods: DELETE share nothing with its parent's grant \(GET, POST\)/),
      expect.stringMatching(/^wide-path credentials\[0\] \(vendor-api\)\.pathPrefix: \/admin\/ is outside its parent's path \/v1\//),
    ]);
    expect(events.filter((e) => e.kind === 'task.created').map((e) => e.agent.name)).toEqual(['boss', 'greedy']);

    // The greedy child ran narrowed: GET only, its own path, the two uses its parent had left,
    // drawn from the parent's; only the parent's hosts; never the secret itself.
    const greedy = linesOf(events, 'greedy');
    expect(greedy).toEqual(['secret in env: 0', 'delete 403', 'report1 200', 'report2 200', 'report3 403', 'other 403']);
    const greedyTask = events.find((e) => e.kind === 'task.created' && e.agent.name === 'greedy')!;
    expect(greedyTask.data.networkPolicy).toMatchObject({ mode: 'allowlist', allow: ['api.vendor.test'] });
    expect(events.find((e) => e.kind === 'cred.granted' && e.task === greedyTask.task)?.data).toMatchObject({ uses: 2, drawnFrom: expect.stringMatching(/^g_/) });
    const narrowed = events.find((e) => e.kind === 'agent.action' && e.data.type === 'delegate.narrowed');
    expect(narrowed?.data.narrowed).toEqual(expect.arrayContaining([
      expect.stringMatching(/methods GET, DELETE narrowed to GET/), expect.stringMatching(/uses 100 cut to the 2 its parent has left/),
      'greedy network: allow other.test (not within the parent\'s network)',
    ]));
    expect(events.filter((e) => e.kind === 'cred.denied' && e.task === greedyTask.task).map((e) => String(e.data.reason))).toEqual([
      expect.stringMatching(/DELETE is not among the grant's methods \(GET\)/), expect.stringMatching(/has no uses left/),
    ]);
    expect(events.filter((e) => e.kind === 'net.denied' && e.task === greedyTask.task).map((e) => e.data.host)).toContain('other.test');

    // The parent's own uses went with its child's; the gateway kept serving (403, not a dead proxy).
    expect(linesOf(events, 'boss').filter((l) => l.startsWith('boss'))).toEqual(['boss first 200', 'boss after 403']);
    expect(events.filter((e) => e.kind === 'cred.denied' && e.agent.name === 'boss').map((e) => String(e.data.reason))).toEqual([expect.stringMatching(/no uses left/)]);
    // Upstream saw the secret exactly three times, only on GETs under /v1/.
    const withSecret = remotes.requests.filter((r) => String(r.headers.authorization ?? '').includes(SECRET));
    expect(withSecret.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /v1/a', 'GET /v1/reports/1', 'GET /v1/reports/2']);
    expect(JSON.stringify(events)).not.toContain(SECRET);
    expect((await listTaskObjects(engine)).filter((t) => events.some((e) => e.task === t.task))).toEqual([]);
  });

  it('a child that prints its env secret and writes it into result.json: the parent\'s sandbox gets it redacted', async () => {
    const { events, run } = setup({
      // The parent prints the answer as hex, so its own output's redaction cannot hide what it received.
      holder: agent('holder', `${spawn('leaker')} | od -An -tx1 -v | tr -d ' \\n'; echo`, [
        'credentials: [{ name: vendor-api, delivery: env, env: VENDOR_TOKEN }]',
        'network: { mode: allowlist, allow: [api.vendor.test] }',
        'delegate: { allow: [leaker], maxDepth: 1 }',
      ].join('\n')),
      leaker: agent('leaker', [
        'echo "token $VENDOR_TOKEN"', 'echo "b64 $(printf %s "$VENDOR_TOKEN" | base64)"',
        'printf \'{"token":"%s","nested":{"list":["x %s y"],"b64":"%s"}}\' "$VENDOR_TOKEN" "$VENDOR_TOKEN" "$(printf %s "$VENDOR_TOKEN" | base64)" > /workspace/out/result.json',
      ].join('; '), 'credentials: [{ name: vendor-api, delivery: env, env: VENDOR_TOKEN }]\nnetwork: { mode: allowlist, allow: [api.vendor.test] }'),
    });
    const outcome = await run('holder');
    expect(outcome.exitCode).toBe(0);
    const hex = linesOf(events, 'holder').at(-1)!;
    const answer = JSON.parse(Buffer.from(hex, 'hex').toString('utf8')) as { status: string; result: unknown; output: string[] };
    expect(answer.status).toBe('exited');
    expect(answer.result).toEqual({ token: '[redacted:vendor-api]', nested: { list: ['x [redacted:vendor-api] y'], b64: '[redacted:vendor-api]' } });
    expect(answer.output).toEqual(['token [redacted:vendor-api]', 'b64 [redacted:vendor-api]']);
    expect(Buffer.from(hex, 'hex').toString('utf8')).not.toContain(SECRET);
    expect(JSON.stringify(events)).not.toContain(SECRET);
  });
});
