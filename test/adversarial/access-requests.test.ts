/**
 * Access requests, attacked from a real sandbox. A hostile agent, refused a host, reads the refusal
 * (which says how to ask), asks with a forged reason (a terminal escape that writes the clipboard,
 * a bidi override, a forged "Approve: yes" line), is allowed once by a person and gets exactly one
 * request through; then it floods asks (one burst event, at most the pending limit reaches a
 * person), sends malformed asks (refused with a reason) and Airlock keeps serving it. Through the
 * built CLI: with no terminal the ask is denied at once (not after its timeout), and the reason is
 * shown inert; at a terminal the person reads the reason, inert, and answers "once".
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { systemClock } from '../../main/core/clock.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { approve, CLI, harness, lines, REPO, runCli, specFrom, tempDir } from '../helpers/env.js';
import { startRemotes } from '../helpers/remotes.js';
import { RAW_CONTROL } from './hostile-agent.js';

/** JSON text of a reason with an OSC 52 clipboard write, a BEL, a bidi override and a forged answer line. */
const FORGED_REASON = String.raw`read the docs\u001b]52;c;ZXZpbA==\u0007 \u202egnp.exe\nApprove: yes`;
/** How that reason reads once recorded: every hidden character the visible escape JSON wrote it as (`\n` included). */
const SHOWN_REASON = FORGED_REASON;
const ASK = 'ask() { curl -s -X POST -H "content-type: application/json" -d "$1" http://airlock.internal/v1/access-requests; }';
const CODE = 'code() { curl -s -o /dev/null -w "%{http_code}" "$1"; }';

let remotes: Awaited<ReturnType<typeof startRemotes>>;
beforeAll(async () => {
  remotes = await startRemotes();
});
afterAll(async () => {
  await remotes?.close();
});

describe('a hostile agent asking for access in a real sandbox', () => {
  const h = harness();
  let events: AirlockEvent[];
  let out: string[];
  const seenByPerson: { host: string; reason: string | undefined }[] = [];

  beforeAll(async () => {
    const gateway = new Gateway({ bus: h.bus, clock: systemClock, resolve: remotes.resolve, dial: remotes.dial });
    // The person: reads what waits (as the app and the CLI list it) and allows the docs host once; the flood is left to time out.
    gateway.approvals.onRequest((request) => {
      seenByPerson.push({ host: request.host, reason: request.access?.reason });
      const waiting = gateway.approvals.pending().find((p) => p.id === request.id);
      if (waiting?.host === 'api.vendor.test') setImmediate(() => gateway.approvals.answer(request.id, 'once'));
    });
    const runner = new TaskRunner({ engine: h.engine, bus: h.bus, clock: systemClock, home: h.home, gateway, assetsDir: path.join(REPO, 'assets') });
    const script = [
      ASK, CODE,
      'echo "first $(code http://api.vendor.test/docs)"',
      'curl -s http://api.vendor.test/docs | grep "^To ask for access: " | sed "s/^/refusal says: /"',
      `ask '{"host":"api.vendor.test","reason":"${FORGED_REASON}"}' | sed "s/^/answer: /"`,
      'echo "second $(code http://api.vendor.test/docs)"',
      'echo "third $(code http://api.vendor.test/docs)"',
      'for i in $(seq 1 30); do ask "{\\"host\\":\\"h$i.flood.test\\",\\"reason\\":\\"flood $i\\"}" | sed "s/^/flood: /" & done; wait',
      `ask '{"credential":"vendor-api","reason":"x"}' | sed "s/^/credential: /"`,
      `ask '{"host":"a b.test","reason":"x"}' | sed "s/^/bad host: /"`,
      `ask '{"host":"api.vendor.test"}' | sed "s/^/no reason: /"`,
      `ask '{"host":"x.test","credential":"y","reason":"z"}' | sed "s/^/two: /"`,
      'echo "alive $(code http://airlock.internal/v1/whoami)"',
    ].join('\n');
    const outcome = await runner.run(specFrom(h.root, `name: asker\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\nnetwork: { mode: allowlist, allow: [nothing.test], askTimeout: 2s }\n`));
    expect(outcome.exitCode).toBe(0);
    events = h.events;
    out = lines(events);
  }, 120_000);

  it('every refusal says in one line how to ask, and a host allowed once gets one request through, no more', () => {
    expect(out).toContain('first 403');
    expect(out).toContain('refusal says: To ask for access: POST http://airlock.internal/v1/access-requests {"host":"api.vendor.test","reason":"<why this task needs it>"}');
    const answer = JSON.parse(out.find((line) => line.startsWith('answer: '))!.slice('answer: '.length)) as Record<string, unknown>;
    expect(answer).toMatchObject({ decision: 'once', by: 'user' });
    expect(out).toContain('second 200');
    expect(out).toContain('third 403');
    expect(remotes.requests.filter((r) => r.url === '/docs')).toHaveLength(1);
  });

  it('the forged reason reaches the person and the log inert: capped, every control and bidi character escaped', () => {
    expect(seenByPerson.find((s) => s.host === 'api.vendor.test')?.reason).toBe(SHOWN_REASON);
    const requested = events.find((e) => e.kind === 'approval.requested' && e.data.host === 'api.vendor.test')!;
    expect(requested.data).toMatchObject({ via: 'access-request', subject: 'host', reason: SHOWN_REASON });
    expect(String(requested.data.reason)).not.toMatch(RAW_CONTROL);
    expect(events.find((e) => e.kind === 'approval.decided' && e.data.host === 'api.vendor.test')).toMatchObject({ actor: 'user', decision: { allow: true, rule: 'ask:once', by: 'user' }, data: { via: 'access-request' } });
    expect(events.some((e) => e.kind === 'net.request' && e.data.host === 'api.vendor.test' && e.decision?.rule === 'access:once')).toBe(true);
  });

  it('a flood of asks is limited: one burst event, at most the pending limit shown to a person, each ask answered', () => {
    const flood = out.filter((line) => line.startsWith('flood: ')).map((line) => JSON.parse(line.slice('flood: '.length)) as { decision: string; by: string; message: string });
    expect(flood).toHaveLength(30);
    expect(flood.every((answer) => answer.decision === 'deny' && answer.by === 'default')).toBe(true);
    expect(flood.filter((answer) => answer.message.includes('was not asked about'))).toHaveLength(25);
    expect(seenByPerson.filter((s) => s.host.endsWith('.flood.test'))).toHaveLength(5);
    expect(events.filter((e) => e.kind === 'approval.burst')).toHaveLength(1);
  });

  it('malformed asks are refused with a reason, a credential for a task without a CA is refused (409) saying how to start it, and Airlock kept serving', () => {
    const status = (prefix: string) => JSON.parse(out.find((line) => line.startsWith(prefix))!.slice(prefix.length)) as { error?: string };
    expect(status('credential: ').error).toMatch(/started without a task CA.*airlock run --cred vendor-api/);
    expect(status('bad host: ').error).toMatch(/"host" must be one host name/);
    expect(status('no reason: ').error).toMatch(/give a "reason"/);
    expect(status('two: ').error).toMatch(/exactly one of host, credential, mcp/);
    const refusedCalls = events.filter((e) => e.kind === 'net.denied' && e.decision?.rule === 'access-request');
    expect(refusedCalls.map((e) => e.data.status).sort()).toEqual([400, 400, 400, 409]);
    expect(out).toContain('alive 200');
  });
});

/** A manifest whose agent asks for a host (a public address: one a person can grant; nothing dials it) with the forged reason and prints the answer. */
function askingManifest(dir: string, askTimeout: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const script = [ASK, `ask '{"host":"34.120.255.1","reason":"${FORGED_REASON}"}' | sed "s/^/answer: /"`].join('\n');
  const file = path.join(dir, 'agent.yaml');
  fs.writeFileSync(file, `name: asker\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\nnetwork: { mode: allowlist, allow: [nothing.test], askTimeout: ${askTimeout} }\n`);
  return file;
}

describe('access requests through the built CLI', () => {
  it('with no terminal to ask, the ask is denied at once (not after its 10 minutes), and the reason is shown inert', async () => {
    const root = tempDir('airlock-access-cli-');
    const home = path.join(root, 'home');
    const file = askingManifest(path.join(root, 'agent'), '10m');
    approve(file, home);
    const run = await runCli(['run', file], { env: { AIRLOCK_HOME: home }, timeoutMs: 90_000 });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`no terminal to ask: denied\n  34.120.255.1:443\n  the agent's reason: "${SHOWN_REASON}"\n`);
    expect(run.stderr).not.toMatch(RAW_CONTROL);
    expect(run.stdout).toMatch(/answer: \{"decision":"deny","by":"default",/);
  }, 120_000);

  it('at a terminal, the person reads the reason inert beside the host and answers once; the agent gets the answer as JSON', async () => {
    const root = tempDir('airlock-access-tty-');
    const home = path.join(root, 'home');
    const file = askingManifest(path.join(root, 'agent'), '60s');
    approve(file, home);
    // `script` gives the CLI a real terminal; "o" answers "once".
    const child = spawn('script', ['-qfec', `${process.execPath} ${CLI} run ${file}`, '/dev/null'], { env: { ...process.env, NO_COLOR: '1', AIRLOCK_HOME: home } });
    let shown = '';
    let answered = false;
    child.stdout.on('data', (d: Buffer) => {
      shown += d.toString();
      if (!answered && shown.includes('[d]eny?')) {
        answered = true;
        child.stdin.write('o\r');
      }
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(shown).toContain(`The agent asks for a host that is not in its allowlist:\r\n  34.120.255.1:443\r\n  the agent's reason: "${SHOWN_REASON}"\r\n`);
    expect(shown).not.toContain('\u001b]52'); // the clipboard escape never reached the terminal
    expect(shown).toMatch(/answer: \{"decision":"once","by":"user",/);
  }, 120_000);
});
