/**
 * "Without a person they are denied at once": a detached run on the user's engine (real socket,
 * real sandboxes) whose agent asks for a host ahead (an access request), reaches for a host outside
 * its allowlist, and calls an MCP tool whose rule is `ask`, while no client that answers asks is
 * connected (the starter is a plain client; no app window, no terminal). Each is denied at once —
 * not after the task's askTimeout — with the reason in the log. Then a client that answers (as an
 * app window does) connects: the next ask waits for it, and its answer is the agent's. When it goes,
 * asks are denied at once again, and the engine keeps serving.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import type { EngineClient } from '../../main/core/server/client.js';
import { startEngineServer, type RunningEngine } from '../../main/core/server/engine-server.js';
import { approve, tempDir } from '../helpers/env.js';
import { testClient } from '../helpers/engine.js';

/** Long enough that an ask left to time out fails the test's "at once" (a few seconds at most). */
const ASK_TIMEOUT_S = 25;
const AT_ONCE_S = 5;

const ASK = `ask() { s=$(date +%s); a=$(curl -s -X POST -H 'content-type: application/json' -d "$2" http://airlock.internal/v1/access-requests); echo "$1 $(( $(date +%s) - s ))s $a"; }`;

const ASKER = (name: string) => `name: ${name}
command: ["sh", "-c", ${JSON.stringify(`${ASK}\nask ACCESS '{"host":"api.vendor.test","reason":"the docs"}'`)}]
network: { mode: allowlist, local: ["127.0.0.1:9"], onUnknownHost: ask, askTimeout: ${ASK_TIMEOUT_S}s }
`;

const MCP_AGENT = String.raw`
s=$(date +%s); code=$(curl -s -o /dev/null -w '%{http_code}' http://docs.vendor.test/); echo "PLAIN $(( $(date +%s) - s ))s $code"
F=$(curl -s -D - -o /dev/null -H 'content-type: application/json' -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"agent","version":"1"}}}' http://airlock.internal/mcp/files | tr -d '\r' | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: //p')
s=$(date +%s); r=$(curl -s -H 'content-type: application/json' -H "mcp-session-id: $F" -d '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"write_note","arguments":{"name":"b"}}}' http://airlock.internal/mcp/files); echo "TOOL $(( $(date +%s) - s ))s $r"
`;

let root: string;
let home: string;
let engine: RunningEngine;
const events: AirlockEvent[] = [];
const clients: EngineClient[] = [];

async function client(): Promise<EngineClient> {
  const opened = await testClient(home);
  clients.push(opened);
  return opened;
}

function manifest(name: string, text: string): string {
  const file = path.join(root, `${name}.yaml`);
  fs.writeFileSync(file, text);
  approve(file, home);
  return file;
}

/** The agent's line starting with `step`, once its task is over. */
function lineOf(task: string, step: string): string {
  const line = events.find((e) => e.task === task && e.kind === 'proc.stdout' && String(e.data.line).startsWith(`${step} `))?.data.line;
  return String(line);
}

function seconds(line: string): number {
  return Number(/^\S+ (\d+)s/.exec(line)?.[1] ?? Infinity);
}

beforeAll(async () => {
  root = tempDir('airlock-unattended-');
  home = path.join(root, 'home');
  const started = await startEngineServer({ env: { ...process.env, AIRLOCK_HOME: home }, build: 'test', log: () => undefined, idleMs: 0 });
  if (!started) throw new Error('another engine serves this home');
  engine = started;
  engine.airlock.bus.subscribe((event) => events.push(event));
  fs.mkdirSync(path.join(root, 'mcp'));
  fs.copyFileSync(path.join(import.meta.dirname, 'mcp', 'server.cjs'), path.join(root, 'mcp', 'server.cjs'));
  fs.writeFileSync(path.join(root, 'agent.sh'), `${ASK}\nask ACCESS '{"host":"api.vendor.test","reason":"the docs"}'\n${MCP_AGENT}`);
});

afterAll(async () => {
  for (const opened of clients) await opened.close().catch(() => undefined);
  await engine?.stop('test over');
});

describe('asks with no person connected to answer them', () => {
  it('are denied at once and on the record; a client that answers gets the next ask; when it goes, denied at once again', async () => {
    const starter = await client(); // a client that answers nothing (a detached `airlock run`)
    const first = manifest('unattended', `name: unattended
command: ["sh", "/workspace/agent.sh"]
inputs: [{ from: ./agent.sh, to: /workspace/agent.sh }]
network: { mode: allowlist, local: ["127.0.0.1:9"], onUnknownHost: ask, askTimeout: ${ASK_TIMEOUT_S}s }
mcp:
  - name: files
    command: ["node", "/srv/mcp/server.cjs", "files"]
    inputs: [{ from: ./mcp, to: /srv/mcp }]
    tools: { write_note: ask }
`);
    const { task } = await starter.call('tasks.start', { agent: first, attached: false });
    await expect(starter.call('tasks.wait', task)).resolves.toMatchObject({ state: 'exited' });

    const access = lineOf(task, 'ACCESS');
    expect(seconds(access), access).toBeLessThanOrEqual(AT_ONCE_S);
    expect(JSON.parse(access.replace(/^\S+ \d+s /, ''))).toMatchObject({ decision: 'deny', by: 'default', message: expect.stringContaining('no person is connected to answer') });
    const plain = lineOf(task, 'PLAIN');
    expect(seconds(plain), plain).toBeLessThanOrEqual(AT_ONCE_S);
    expect(plain).toMatch(/ 403$/);
    const tool = lineOf(task, 'TOOL');
    expect(seconds(tool), tool).toBeLessThanOrEqual(AT_ONCE_S);
    expect(tool).toContain('no person is connected to answer');
    expect(tool).not.toContain('"isError":false');
    // On the record: each asked and decided by the default, saying why; nothing left waiting.
    const decided = events.filter((e) => e.task === task && e.kind === 'approval.decided');
    expect(decided.map((e) => e.data.host ?? `mcp:${String(e.data.server)}/${String(e.data.tool)}`).sort()).toEqual(['api.vendor.test', 'docs.vendor.test', 'mcp:files/write_note']);
    for (const event of decided) expect(event).toMatchObject({ actor: 'airlock', decision: { allow: false, rule: 'ask:unattended', by: 'default' }, data: { why: 'no person is connected to answer' } });
    expect(events.filter((e) => e.task === task && e.kind === 'approval.requested')).toHaveLength(3);
    expect(await starter.call('approvals.list')).toEqual([]);

    // A client that answers (what an app window says when it opens): the ask waits for it.
    const person = await client();
    await person.call('approvals.attend', {});
    await person.call('approvals.attend', {}); // said twice: still one attendant, gone once when it goes
    const seen: string[] = [];
    person.subscribe('approvals', (list) => {
      for (const request of list) {
        if (seen.includes(request.id)) continue;
        seen.push(request.id);
        void person.call('approvals.answer', { id: request.id, answer: 'once' });
      }
    });
    const asker = manifest('asker', ASKER('asker'));
    const second = (await starter.call('tasks.start', { agent: asker, attached: false })).task;
    await expect(starter.call('tasks.wait', second)).resolves.toMatchObject({ state: 'exited' });
    expect(JSON.parse(lineOf(second, 'ACCESS').replace(/^\S+ \d+s /, ''))).toMatchObject({ decision: 'once', by: 'user' });
    expect(seen).toHaveLength(1);

    // It goes (the window closed): nobody answers again, and the engine says so at once.
    await person.close();
    const third = (await starter.call('tasks.start', { agent: asker, attached: false })).task;
    await expect(starter.call('tasks.wait', third)).resolves.toMatchObject({ state: 'exited' });
    const again = lineOf(third, 'ACCESS');
    expect(seconds(again), again).toBeLessThanOrEqual(AT_ONCE_S);
    expect(JSON.parse(again.replace(/^\S+ \d+s /, ''))).toMatchObject({ decision: 'deny', by: 'default' });
    expect(events.find((e) => e.task === third && e.kind === 'approval.decided')).toMatchObject({ decision: { rule: 'ask:unattended' } });
    // A scope per run at most: a client cannot grow the engine's list without bound.
    const flooder = await client();
    const scope = (i: number) => ({ task: `t_${String(i).padStart(26, '0')}` });
    for (let i = 0; i < 64; i++) await flooder.call('approvals.attend', scope(i));
    await expect(flooder.call('approvals.attend', scope(64))).rejects.toMatchObject({ code: 'bad_argument', message: expect.stringContaining('at most 64') });
    expect(await starter.call('engine.status')).toMatchObject({ pid: process.pid });
  });
});
