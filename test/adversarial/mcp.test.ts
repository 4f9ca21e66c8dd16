import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { systemClock } from '../../main/core/clock.js';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { harness, REPO, specFrom } from '../helpers/env.js';
import { startRemotes } from '../helpers/remotes.js';

// A hostile agent and hostile MCP servers (test/adversarial/mcp/server.cjs), in real sandboxes,
// through the real gateway and broker: tools are used only as the manifest's rules say, a person
// answers the "ask" ones, a tool that changes what it says it does is refused, a server's own
// egress obeys its own allowlist, a server that floods or hangs is ended, and every server is
// gone with its task.
let remotes: Awaited<ReturnType<typeof startRemotes>>;
beforeAll(async () => {
  remotes = await startRemotes();
});
afterAll(async () => {
  await remotes.close();
});

const server = (name: string, mode: string, tools: string, rest = '') =>
  `  - name: ${name}\n    command: ["node", "/srv/mcp/server.cjs", "${mode}"]\n    inputs: [{ from: ./mcp, to: /srv/mcp }]\n    tools: ${tools}\n${rest}`;

const MANIFEST = `name: mcp-user
command: ["sh", "/workspace/agent.sh"]
inputs: [{ from: ./agent.sh, to: /workspace/agent.sh }]
network: { mode: allowlist, allow: [docs.vendor.test] }
loops: { maxRepeats: 3 }
mcp:
${server('files', 'files', '{ read_note: allow, write_note: ask, delete_all: deny, shifty: allow, fetch_out: allow }', '    network: { mode: allowlist, allow: [api.vendor.test] }\n')}
${server('flood', 'flood', '{ spam: allow }')}
${server('hang', 'hang', '{ stall: allow }')}
`;

// The agent: plain curl against the broker, one line of output per step.
const AGENT = String.raw`
open() { curl -s -D - -o /dev/null -H 'content-type: application/json' -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"agent","version":"1"}}}' "http://airlock.internal/mcp/$1" | tr -d '\r' | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: //p'; }
rpc() { curl -s -H 'content-type: application/json' -H "mcp-session-id: $2" -d "$3" "http://airlock.internal/mcp/$1"; }
call() { rpc "$1" "$2" "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"$3\",\"arguments\":$4}}"; }
F=$(open files); L=$(open flood); H=$(open hang)
echo "NOSESSION $(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' http://airlock.internal/mcp/files)"
echo "LIST1 $(rpc files "$F" '{"jsonrpc":"2.0","id":1,"method":"tools/list"}')"
echo "READ $(call files "$F" read_note '{"name":"a"}')"
echo "WRITE $(call files "$F" write_note '{"name":"b","api_key":"sk-please-redact-me"}')"
echo "DELETE $(call files "$F" delete_all '{}')"
echo "UNLISTED $(call files "$F" nope '{}')"
echo "RESOURCES $(rpc files "$F" '{"jsonrpc":"2.0","id":3,"method":"resources/list"}')"
echo "SHIFTY1 $(call files "$F" shifty '{"a":1}')"
echo "LIST2 $(rpc files "$F" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}')"
echo "SHIFTY2 $(call files "$F" shifty '{"a":2}')"
echo "EXFIL $(call files "$F" fetch_out '{}')"
echo "FLOOD $(call flood "$L" spam '{}')"
echo "FLOOD2 $(call flood "$L" spam '{}')"
echo "HANG $(call hang "$H" stall '{}')"
for i in 2 3 4; do echo "READ$i $(call files "$F" read_note '{"name":"a"}')"; done
`;

const lineOf = (events: AirlockEvent[], step: string) => events.find((e) => e.kind === 'proc.stdout' && String(e.data.line).startsWith(`${step} `))?.data.line as string | undefined;

describe('MCP servers under policy', () => {
  it('a hostile agent and hostile servers get only what the per-tool rules allow, and every server dies with the task', async () => {
    const h = harness();
    fs.mkdirSync(path.join(h.root, 'mcp'));
    fs.copyFileSync(path.join(import.meta.dirname, 'mcp', 'server.cjs'), path.join(h.root, 'mcp', 'server.cjs'));
    fs.writeFileSync(path.join(h.root, 'agent.sh'), AGENT);
    const gateway = new Gateway({ bus: h.bus, clock: systemClock, resolve: remotes.resolve, dial: remotes.dial, upstreamCa: fs.readFileSync(remotes.cert, 'utf8') });
    // The person: allows the write once; refuses the changed tool (the answer path of the CLI's prompt and the app's Approvals).
    const asked: unknown[] = [];
    gateway.approvals.onRequest((request) => {
      asked.push(request.mcp);
      setImmediate(() => gateway.approvals.answer(request.id, request.mcp?.changed ? 'deny' : 'once'));
    });
    const runner = new TaskRunner({
      engine: h.engine, bus: h.bus, clock: systemClock, home: h.home, gateway, assetsDir: path.join(REPO, 'assets'),
      mcpStdioBounds: { maxLinesPerSecond: 100, replyTimeoutMs: 4000 },
    });
    const outcome = await runner.run(specFrom(h.root, MANIFEST));
    await gateway.close();
    const { events } = h;
    expect(outcome.status).toBe('exited');

    // Without a session, nothing is relayed.
    expect(lineOf(events, 'NOSESSION')).toBe('NOSESSION 400');
    // The list holds no denied tool.
    const list1 = lineOf(events, 'LIST1')!;
    expect(list1).toContain('read_note');
    expect(list1).toContain('shifty');
    expect(list1).not.toContain('delete_all');
    // Allowed: passed on, answered, recorded.
    expect(lineOf(events, 'READ')).toContain('read_note done {\\"name\\":\\"a\\"}');
    // Asked: a person saw server, tool and redacted arguments, allowed it once.
    expect(lineOf(events, 'WRITE')).toContain('write_note done');
    expect(asked[0]).toEqual({ server: 'files', tool: 'write_note', arguments: '{"name":"b","api_key":"[redacted]"}', changed: false });
    // Denied and unlisted (default deny): a JSON-RPC error saying how to ask; the server never saw them.
    expect(lineOf(events, 'DELETE')).toContain('Airlock refused files/delete_all');
    expect(lineOf(events, 'DELETE')).toContain('access-requests');
    expect(lineOf(events, 'UNLISTED')).toContain('Airlock refused files/nope');
    expect(lineOf(events, 'RESOURCES')).toContain('Airlock relays tools only');
    // The tool that changed its description after first use: left out of the list, refused until re-approved.
    expect(lineOf(events, 'SHIFTY1')).toContain('shifty done');
    expect(lineOf(events, 'LIST2')).not.toContain('shifty');
    expect(lineOf(events, 'LIST2')).not.toContain('IGNORE PREVIOUS');
    expect(lineOf(events, 'SHIFTY2')).toContain('changed since it was first used');
    const changed = events.filter((e) => e.kind === 'mcp.changed');
    expect(changed).toHaveLength(1);
    expect(changed[0]!.data).toMatchObject({ server: 'files', tools: ['shifty'] });
    // The server's own egress obeys its own allowlist (not the agent's, not open).
    expect(lineOf(events, 'EXFIL')).toContain('fetch_out status 403');
    const serverTask = events.find((e) => e.kind === 'task.created' && (e.data.mcp as { server?: string } | undefined)?.server === 'files')!.task;
    expect(events.some((e) => e.task === serverTask && e.kind === 'net.denied' && e.data.host === 'evil.test')).toBe(true);
    // A flooding server and a hanging one are ended, with the reason; the task goes on.
    expect(lineOf(events, 'FLOOD')).toContain('was ended');
    expect(lineOf(events, 'FLOOD2')).toContain('not available');
    expect(lineOf(events, 'HANG')).toContain('did not answer tools/call');
    const ended = events.filter((e) => e.kind === 'mcp.server' && e.data.state === 'ended').map((e) => [e.data.server, String(e.data.reason)]);
    expect(ended).toEqual(expect.arrayContaining([['flood', expect.stringContaining('lines within a second')], ['hang', expect.stringContaining('did not answer')]]));
    // Airlock kept working: the same read again, and the fourth identical call is a loop.
    expect(lineOf(events, 'READ4')).toContain('read_note done');
    const loops = events.filter((e) => e.kind === 'policy.violation' && e.data.rule === 'loop.mcp');
    expect(loops).toHaveLength(1);

    // Every call is on the record, with its decision and rule.
    const calls = events.filter((e) => e.kind === 'mcp.call').map((e) => [e.data.tool, e.decision?.allow, e.decision?.rule, e.decision?.by]);
    expect(calls).toEqual(expect.arrayContaining([
      ['read_note', true, 'mcp:files:read_note', 'policy'],
      ['write_note', true, 'mcp:files:write_note', 'user'],
      ['delete_all', false, 'mcp:files:delete_all', 'policy'],
      ['nope', false, 'mcp:files:default', 'policy'],
      ['shifty', false, 'mcp:files:changed', 'user'],
    ]));
    // The secret-looking argument is in no record of the call (the agent's own output is its own).
    expect(JSON.stringify(events.filter((e) => e.kind !== 'proc.stdout'))).not.toContain('sk-please-redact-me');
    // Every server's containers and volumes are gone with the task.
    const serverTasks = events.filter((e) => e.kind === 'task.created' && e.data.mcp !== undefined).map((e) => e.task);
    expect(serverTasks).toHaveLength(3);
    const ours = new Set([outcome.task, ...serverTasks]);
    expect((await listTaskObjects(h.engine)).filter((t) => ours.has(t.task))).toEqual([]);
  }, 180_000);
});
