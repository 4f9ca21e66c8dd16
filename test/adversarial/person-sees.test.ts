/**
 * What the person sees is what is true, on the terminal. A hostile agent in a real sandbox, run
 * through the built CLI, names an output `report\u202efdp.exe` (reads as `report…exe.pdf`) and
 * another with a zero-width space, writes output lines and action fields with bidi, zero-width,
 * tag and variation-selector characters, and asks for a long look-alike host. The CLI shows every
 * such character as a visible escape, `--json` keeps the true string, and the refused ask names
 * the host's registrable domain first, with the whole host.
 *
 * Learn mode, against a real parent and child in real sandboxes: the parent's proposal holds only
 * the parent's hosts, a host named `*.vendor.test` is never proposed (it is reported), and the
 * proposal is a list a person can review, one host per line with its count and rule.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../main/core/clock.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { loadManifestFile } from '../../main/core/policy/manifest.js';
import { AgentRegistry } from '../../main/core/policy/registry.js';
import { DelegationTree } from '../../main/core/tasks/delegation.js';
import { learnedAllowlist, learnedDiff, learnedReview } from '../../main/core/tasks/learn.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { startRemotes } from '../helpers/remotes.js';
import { approve, harness, lines, REPO, runCli, specFrom, tempDir, type CliResult } from '../helpers/env.js';
import { hostileAgent, RAW_CONTROL } from './hostile-agent.js';

/** What must never reach a terminal raw: besides RAW_CONTROL, zero-width, word joiner, BOM, soft hyphen, tags, variation selectors. */
const RAW_INVISIBLE = /[\u200b-\u200d\u2060\ufeff\u00ad]|[\udb40]|\ufe00/;
const LOOK_ALIKE = 'login.example.com.account-verification.secure-session.evil.test';

describe('a hostile agent\'s names and text on the terminal', () => {
  const dir = tempDir('airlock-person-sees-');
  const home = path.join(dir, 'home');
  let run: CliResult;
  let task: string;

  beforeAll(async () => {
    const manifest = hostileAgent(dir, {
      name: 'look-alike', script: 'person-sees.mjs',
      more: ['outputs: [/workspace/out]', 'network: { mode: allowlist, allow: [nothing.test], onUnknownHost: ask }', `env: { ASK: "1", ASK_HOST: ${LOOK_ALIKE} }`],
    });
    approve(manifest, home);
    run = await runCli(['run', manifest], { env: { AIRLOCK_HOME: home } });
    task = /▶ (t_[0-9a-z]{26}) /.exec(run.stdout)?.[1] ?? '';
  }, 120_000);

  it('shows bidi, zero-width, tag and selector characters in lines, actions and file names as visible escapes', () => {
    expect(run.code).toBe(0);
    for (const stream of [run.stdout, run.stderr]) {
      expect(stream).not.toMatch(RAW_CONTROL);
      expect(stream).not.toMatch(RAW_INVISIBLE);
    }
    expect(run.stdout).toContain('│ sent to pay\\u200bpal.com: \\u202eevil\\u202c tag\\udb40\\udc41\\udb40\\udc42 vs\\udb40\\udd00 joiner\\u2060 end');
    expect(run.stdout).toContain('• [agent] open\\u2066file path=/workspace/out/report\\u202efdp.exe note=zero\\u200dwidth\\ufeff');
    expect(run.stdout).toContain('output /workspace/out/report\\u202efdp.exe → ');
    expect(run.stdout).toContain('output /workspace/out/pay\\u200bpal\\u00ad.txt → ');
    expect(run.stdout).toMatch(/│ finished$/m); // Airlock kept working to the end
  });

  it('the refused ask names the registrable domain first, then the whole host, uncut; and it is in the log', () => {
    expect(run.stderr).toContain(`no terminal to ask: denied\n  evil.test  ← ${LOOK_ALIKE}:80\n`);
    expect(run.stdout).toMatch(/│ first failed$/m); // refused: Node's proxy client tunnels, and the tunnel was refused
    expect(run.stdout).toContain(`${LOOK_ALIKE}:80 denied`);
  });

  it('--json keeps the true strings, escaped, parsing back to exactly what the agent wrote', async () => {
    const json = await runCli(['log', task, '--json'], { env: { AIRLOCK_HOME: home } });
    expect(json.code).toBe(0);
    expect(json.stdout).not.toMatch(RAW_INVISIBLE);
    const events = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as { kind: string; data: Record<string, unknown> });
    expect(events.some((e) => e.kind === 'proc.stdout' && e.data.line === 'sent to pay\u200bpal.com: \u202eevil\u202c tag\u{E0041}\u{E0042} vs\u{E0100} joiner\u2060 end')).toBe(true);
    expect(events.some((e) => e.kind === 'fs.output' && e.data.path === '/workspace/out/report\u202efdp.exe')).toBe(true);
  });
});

/** Asks the gateway, as a proxy, for a host literally named `*.vendor.test` (no HTTP client would send that name). */
const WILD = `import net from 'node:net';
const proxy = new URL(process.env.HTTP_PROXY);
const auth = Buffer.from(decodeURIComponent(proxy.username) + ':' + decodeURIComponent(proxy.password)).toString('base64');
const socket = net.connect(Number(proxy.port), proxy.hostname, () => socket.write('GET http://*.vendor.test/wild HTTP/1.1\\r\\nHost: *.vendor.test\\r\\nProxy-Authorization: Basic ' + auth + '\\r\\nConnection: close\\r\\n\\r\\n'));
let got = '';
socket.on('data', (d) => (got += d));
socket.on('close', () => console.log('wild', got.split('\\r\\n')[0]));
socket.on('error', () => console.log('wild failed'));
`;

describe('learn mode with a parent, its child and a host named like a pattern', () => {
  let remotes: Awaited<ReturnType<typeof startRemotes>>;
  beforeAll(async () => {
    remotes = await startRemotes();
  });
  afterAll(async () => {
    await remotes?.close();
  });

  it('proposes only the parent\'s own valid hosts, reports the `*` name, and lists each host with its count and rule', async () => {
    const h = harness();
    const registry = new AgentRegistry(h.home.root, path.join(REPO, 'assets'));
    const childFile = path.join(h.root, 'fetcher.yaml');
    fs.writeFileSync(childFile, 'name: fetcher\ncommand: ["sh", "-c", "curl -s -o /dev/null -w \'child %{http_code}\\\\n\' http://files.vendor.test/from-child"]\nnetwork: { mode: open }\n');
    registry.approve(loadManifestFile(childFile), 'test');
    fs.writeFileSync(path.join(h.root, 'wild.mjs'), WILD);
    const gateway = new Gateway({ bus: h.bus, clock: systemClock, resolve: remotes.resolve, dial: remotes.dial });
    const runner = new TaskRunner({
      engine: h.engine, bus: h.bus, clock: systemClock, home: h.home, gateway, assetsDir: path.join(REPO, 'assets'),
      agents: registry, delegation: new DelegationTree(systemClock),
    });
    // The parent starts the child and waits for it, reaches api.vendor.test twice, and a host literally named `*.vendor.test`.
    const script = [
      'curl -s -o /dev/null -w "parent %{http_code}\\n" http://api.vendor.test/one',
      'curl -s -o /dev/null http://api.vendor.test/two',
      'node /workspace/wild.mjs',
      'curl -s -X POST -H "content-type: application/json" -d \'{"agent":"fetcher","wait":true}\' http://airlock.internal/v1/tasks > /dev/null',
      'sleep 8; echo parent done',
    ].join('; ');
    const parentYaml = `name: parent\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\ninputs: [{ from: ./wild.mjs, to: /workspace/wild.mjs }]\nnetwork: { mode: none }\ndelegate: { allow: [fetcher] }\n`;
    // The parent's approval pins the child's manifest as approved now (a delegate is resolved by name and digest).
    fs.writeFileSync(path.join(h.root, 'agent.yaml'), parentYaml);
    registry.approve(loadManifestFile(path.join(h.root, 'agent.yaml')), 'test');
    try {
      const outcome = await runner.run(specFrom(h.root, parentYaml, { network: { mode: 'open' } }));
      expect(outcome.exitCode).toBe(0);
      const child = h.events.find((e) => e.kind === 'task.created' && e.agent.name === 'fetcher')?.task;
      expect(child).toBeDefined();
      // The child really reached its host, and it is in the log as the child's.
      expect(h.events.some((e) => e.task === child && e.kind === 'net.request' && e.data.host === 'files.vendor.test')).toBe(true);
      expect(lines(h.events)).toContain('parent done');

      const learned = learnedAllowlist(h.events, outcome.task);
      expect(learned.allow).toEqual(['api.vendor.test']);
      expect(learned.hosts).toEqual([{ host: 'api.vendor.test', requests: 2, rules: ['mode:open'] }]);
      // The `*` name was refused at the gateway (on the record) and is nowhere in the proposal.
      expect(lines(h.events)).toContain('wild HTTP/1.1 400 Bad Request');
      expect(h.events.some((e) => e.task === outcome.task && e.kind === 'net.denied' && e.decision?.rule === 'request-target')).toBe(true);
      expect(learned.allow.some((host) => host.includes('*'))).toBe(false);
      // Had a request for it been let through (a trail from before names were checked), it is reported, never proposed.
      const wild = h.events.find((e) => e.task === outcome.task && e.kind === 'net.request' && e.data.host === 'api.vendor.test')!;
      const withWild = learnedAllowlist([...h.events, { ...wild, data: { ...wild.data, host: '*.vendor.test' } }], outcome.task);
      expect(withWild.allow).toEqual(['api.vendor.test']);
      expect(withWild.leftOut.map((h) => h.host)).toEqual(['*.vendor.test']);
      // The child's own proposal is the child's host.
      expect(learnedAllowlist(h.events, child!).allow).toEqual(['files.vendor.test']);
      // Reviewable: one host per line, with its count and rule; the diff lists them one per line.
      const review = learnedReview(withWild).split('\n');
      expect(review).toContain('  api.vendor.test  2 requests    rule mode:open');
      expect(review.some((line) => line.startsWith('  *.vendor.test') && line.includes('never learned as a pattern'))).toBe(true);
      expect(learnedDiff({ mode: 'none', allow: [], onUnknownHost: 'deny' }, learned.allow)).toContain('+  allow:\n+    - api.vendor.test');
    } finally {
      await gateway.close();
    }
  }, 90_000);
});
