import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { ChainForest, type ChainEvent } from '../../main/core/audit/chain-tree.js';
import { systemClock } from '../../main/core/clock.js';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { harness, REPO, specFrom } from '../helpers/env.js';

// Red team, issue 17 (MCP): a hostile agent and a hostile stdio server (mcp/red17-server.cjs), in
// real sandboxes, through the real gateway and broker, try to make a tool call leave no record —
// arguments or an answer nested too deeply to record, a tool name no rule can address — or to
// dodge the loop rule by reordering the same arguments. Every call is refused or answered as a
// JSON-RPC error the agent reads, every one is an `mcp.call`, and the broker keeps serving. The
// agent also forges lineage (parent, chain, task) in its own action record: the chain tree ignores it.
const server = (name: string) =>
  `  - name: ${name}\n    command: ["node", "/srv/mcp/red17-server.cjs"]\n    inputs: [{ from: ./mcp, to: /srv/mcp }]\n    tools: { echo: allow, deep: allow }\n    default: allow\n`;

const MANIFEST = `name: red17-mcp
command: ["sh", "/workspace/agent.sh"]
inputs: [{ from: ./agent.sh, to: /workspace/agent.sh }]
network: { mode: allowlist, allow: [nothing.test] }
loops: { maxRepeats: 3 }
mcp:
${server('red')}${server('red2')}`;

const AGENT = String.raw`
open() { curl -s -D - -o /dev/null -H 'content-type: application/json' -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}' "http://airlock.internal/mcp/$1" | tr -d '\r' | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: //p'; }
rpc() { code=$(curl -s -o /tmp/answer -w '%{http_code}' -H 'content-type: application/json' -H "mcp-session-id: $2" --data-binary "$3" "http://airlock.internal/mcp/$1"); echo "$code $(tr -d '\n' < /tmp/answer)"; }
call() { rpc "$1" "$2" "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"$3\",\"arguments\":$4}}"; }
R=$(open red); R2=$(open red2)
echo "LIST $(rpc red "$R" '{"jsonrpc":"2.0","id":1,"method":"tools/list"}')"
node -e 'const d=200000; process.stdout.write("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"x\":" + "[".repeat(d) + "]".repeat(d) + "}}}")' > /tmp/deep.json
echo "DEEPARGS $(rpc red "$R" @/tmp/deep.json)"
echo "DEEPRESULT $(call red "$R" deep '{}')"
echo "LOOKALIKE $(call red "$R" 'ëcho' '{}')"
echo "HASH $(call red "$R" 'echo#2' '{}')"
echo "NOTANAME $(rpc red "$R" '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":["echo"],"arguments":{}}}')"
echo "ARGLIST $(rpc red "$R" '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","arguments":[1,2]}}')"
echo "CROSS $(rpc red2 "$R" '{"jsonrpc":"2.0","id":5,"method":"tools/list"}')"
for i in 1 2; do echo "ORDER$i $(call red "$R" echo '{"a":1,"b":2}') $(call red "$R" echo '{"b":2,"a":1}')"; done
echo "ALIVE $(call red2 "$R2" echo '{"still":"here"}')"
echo "FORGED $(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' -d '{"type":"delegated","task":"t_0000000000000000000000000a","parent":"t_0000000000000000000000000b","chain":["t_0000000000000000000000000c"],"kind":"task.created","child":"t_0000000000000000000000000d","agent":{"name":"admin"}}' http://airlock.internal/v1/actions)"
`;

const lineOf = (events: AirlockEvent[], step: string) => events.find((e) => e.kind === 'proc.stdout' && String(e.data.line).startsWith(`${step} `))?.data.line as string | undefined;

describe('red team 17: MCP calls that try to leave no record', () => {
  it('too-deep arguments or answers, unaddressable tool names and reordered repeats are refused or caught, each recorded', async () => {
    const h = harness();
    fs.mkdirSync(path.join(h.root, 'mcp'));
    fs.copyFileSync(path.join(import.meta.dirname, 'mcp', 'red17-server.cjs'), path.join(h.root, 'mcp', 'red17-server.cjs'));
    fs.writeFileSync(path.join(h.root, 'agent.sh'), AGENT);
    const gateway = new Gateway({ bus: h.bus, clock: systemClock, resolve: async () => [], dial: () => Promise.reject(new Error('no dialing in this test')) });
    const runner = new TaskRunner({ engine: h.engine, bus: h.bus, clock: systemClock, home: h.home, gateway, assetsDir: path.join(REPO, 'assets') });
    const outcome = await runner.run(specFrom(h.root, MANIFEST));
    await gateway.close();
    const { events } = h;
    expect(outcome.status).toBe('exited');
    const calls = events.filter((e) => e.kind === 'mcp.call');
    const callsOf = (tool: string) => calls.filter((e) => e.data.tool === tool);

    // A list that never ends is read to its bound; names no rule can address are not in it.
    const list = lineOf(events, 'LIST')!;
    expect(list).toMatch(/^LIST 200 .*"name":"echo".*"name":"deep"/);
    expect(list).not.toContain('#2');
    expect(list).not.toContain('\u00ebcho');

    // Arguments nested 200 000 levels deep: a JSON-RPC refusal the agent reads, and a record.
    expect(lineOf(events, 'DEEPARGS')).toMatch(/"error":\{"code":-32001,"message":"Airlock refused red\/echo: its arguments nest deeper than \d+ levels/);
    expect(callsOf('echo').find((e) => String(e.data.error).includes('nest deeper'))).toMatchObject({ decision: { allow: false, rule: 'mcp:red:echo' } });

    // An answer nested 300 000 levels deep: the call happened, so it is recorded; the answer is not passed on.
    expect(lineOf(events, 'DEEPRESULT')).toMatch(/"error":\{"code":-32603,"message":"the MCP server red answered with JSON nested deeper than \d+ levels: not passed on/);
    expect(callsOf('deep')).toEqual([expect.objectContaining({ decision: expect.objectContaining({ allow: true, rule: 'mcp:red:deep' }), data: expect.objectContaining({ error: expect.stringMatching(/nested deeper/) }) })]);

    // Tool names no rule can address, and malformed params: refused, and each attempt recorded (the name shown inert).
    for (const step of ['LOOKALIKE', 'HASH', 'NOTANAME', 'ARGLIST']) expect(lineOf(events, step), step).toMatch(new RegExp(`^${step} 200 .*"code":-32001`));
    const refusedNames = calls.filter((e) => e.decision?.rule === 'mcp:red:default' && e.decision.allow === false).map((e) => e.data.tool);
    expect(refusedNames).toEqual(['\u00ebcho', 'echo#2', '(a list, not a name)']);
    expect(callsOf('echo').some((e) => e.decision?.allow === false && String(e.data.error).includes('arguments must be an object'))).toBe(true);

    // A session of one server is nothing to another.
    expect(lineOf(events, 'CROSS')).toMatch(/^CROSS 404 .*no such session/);

    // The same arguments in another order are the same call: the fourth is a loop.
    const loops = events.filter((e) => e.kind === 'policy.violation' && e.data.rule === 'loop.mcp');
    expect(loops).toHaveLength(1);
    expect(loops[0]!.data).toMatchObject({ server: 'red', tool: 'echo' });

    // Lineage fields forged in the agent's own action record are its data, not the chain's: the tree has none of them.
    expect(lineOf(events, 'FORGED')).toBe('FORGED 202');
    const forest = new ChainForest();
    forest.add(events as unknown as ChainEvent[]);
    expect(forest.tree(outcome.task)).toMatchObject({ task: outcome.task, agent: 'red17-mcp', toolCalls: calls.filter((e) => e.task === outcome.task).length });
    expect(forest.tree(outcome.task)!.parent).toBeUndefined();
    for (const forged of 'abcd') expect(forest.has(`t_${'0'.repeat(25)}${forged}`)).toBe(false);

    // The broker kept serving.
    expect(lineOf(events, 'ALIVE')).toContain('echo {\\"still\\":\\"here\\"}');
    const serverTasks = events.filter((e) => e.kind === 'task.created' && e.data.mcp !== undefined).map((e) => e.task);
    const ours = new Set([outcome.task, ...serverTasks]);
    expect((await listTaskObjects(h.engine)).filter((t) => ours.has(t.task))).toEqual([]);
  }, 180_000);
});
