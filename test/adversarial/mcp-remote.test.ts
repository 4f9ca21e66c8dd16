import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { systemClock } from '../../main/core/clock.js';
import { CredentialStore } from '../../main/core/credentials/store.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { harness, REPO, specFrom } from '../helpers/env.js';
import { MemorySecrets } from '../helpers/memory-secrets.js';
import { startRemoteMcp } from './mcp/remote-server.js';

// A hostile agent in a real sandbox uses remote (streamable HTTP) MCP servers on a `.test` name,
// reached only through the real gateway: the lent credential reaches the remote and never the
// sandbox, the server's host is not added to the agent's own allowlist, and hostile remotes (a huge
// answer, a slow drip, a wrong content type, a redirect, an echoed secret) are bounded and ended.
const SECRET = `tracker-SECRET-${process.pid}-5d2a`;
const HOST = 'mcp.tracker.test';
const PUBLIC = '34.120.0.30';
let remote: Awaited<ReturnType<typeof startRemoteMcp>>;
const dialled: string[] = [];
beforeAll(async () => {
  remote = await startRemoteMcp(SECRET);
});
afterAll(async () => {
  await remote.close();
});

const server = (name: string, route: string, extra = '') => `  - name: ${name}\n    url: https://${HOST}/${route}\n    tools: { whoami: allow, boom: allow }\n${extra}`;
const MANIFEST = `name: remote-mcp-user
command: ["sh", "/workspace/agent.sh"]
inputs: [{ from: ./agent.sh, to: /workspace/agent.sh }]
network: { mode: allowlist, allow: [docs.vendor.test] }
mcp:
${server('tracker', 'mcp', '    credential: tracker-token\n')}
${server('stream', 'sse')}
${server('huge', 'huge')}
${server('drip', 'drip')}
${server('ctype', 'ctype')}
${server('redirect', 'redirect')}
${server('leak', 'leak', '    credential: tracker-token\n')}
`;

const AGENT = String.raw`
open() { curl -s -D - -o /dev/null -H 'content-type: application/json' -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"agent","version":"1"}}}' "http://airlock.internal/mcp/$1" | tr -d '\r' | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: //p'; }
call() { S=$(open "$1"); curl -s -H 'content-type: application/json' -H "mcp-session-id: $S" -d "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"$2\",\"arguments\":{}}}" "http://airlock.internal/mcp/$1"; }
echo "WHOAMI $(call tracker whoami)"
echo "STREAM $(call stream whoami)"
echo "DIRECT $(curl -s -o /dev/null -w '%{http_code}' https://${HOST}/mcp -d '{}')"
echo "ENV $(env | grep -c 'tracker-SECRET')"
for s in huge drip ctype redirect leak; do echo "$(echo $s | tr a-z A-Z) $(call $s boom)"; done
echo "AGAIN $(call tracker whoami)"
`;

const lineOf = (events: AirlockEvent[], step: string) => events.find((e) => e.kind === 'proc.stdout' && String(e.data.line).startsWith(`${step} `))?.data.line as string | undefined;

describe('remote MCP servers', () => {
  it('are reached only through the gateway, with the credential swapped in there, and hostile ones are bounded', async () => {
    const h = harness();
    fs.writeFileSync(path.join(h.root, 'agent.sh'), AGENT);
    const store = new CredentialStore(h.home.root, new MemorySecrets());
    store.add({ name: 'tracker-token', secret: SECRET, hosts: [HOST], inject: { kind: 'header', template: 'Authorization: Bearer {secret}' }, maxTtlMs: 3_600_000 });
    const gateway = new Gateway({
      bus: h.bus, clock: systemClock, upstreamCa: fs.readFileSync(remote.caFile, 'utf8'),
      resolve: async (host) => {
        if (host === HOST) return [PUBLIC];
        throw Object.assign(new Error(`${host} not found`), { code: 'ENOTFOUND' });
      },
      dial: (address, port) => new Promise<Duplex>((ok, fail) => {
        dialled.push(`${address}:${port}`);
        if (address !== PUBLIC || port !== 443) return fail(new Error(`test dialer: ${address}:${port} is not a test host`));
        const socket = net.connect(remote.port, '127.0.0.1', () => ok(socket));
        socket.once('error', fail);
      }),
    });
    const runner = new TaskRunner({
      engine: h.engine, bus: h.bus, clock: systemClock, home: h.home, gateway, assetsDir: path.join(REPO, 'assets'), credentials: store,
      mcpStdioBounds: { maxLineBytes: 256 * 1024, replyTimeoutMs: 3000 },
    });
    const outcome = await runner.run(specFrom(h.root, MANIFEST));
    await gateway.close();
    const { events } = h;
    const serverTask = (task: string) => events.some((e) => e.task === task && e.kind === 'task.created' && e.data.mcp !== undefined);
    expect(outcome.status).toBe('exited');

    // The credential reached the remote, swapped in by the gateway; the session id came back.
    expect(lineOf(events, 'WHOAMI')).toContain('whoami done, credential real');
    const trackerCalls = remote.seen.filter((s) => s.path === '/mcp' && s.method !== 'initialize');
    expect(trackerCalls.length).toBeGreaterThan(0);
    for (const call of trackerCalls) {
      expect(call.authorization).toBe(`Bearer ${SECRET}`);
      expect(call.session).toBe(call.issued);
    }
    // A server without a credential gets none (not the other server's).
    expect(remote.seen.filter((s) => s.path === '/sse').every((s) => s.authorization === undefined)).toBe(true);
    // An event-stream answer: the response read out of it; the server's own messages dropped.
    expect(lineOf(events, 'STREAM')).toContain('whoami streamed');
    expect(lineOf(events, 'STREAM')).not.toContain('sampling');
    // The server's host is the server's: the agent's own allowlist is not widened.
    expect(lineOf(events, 'DIRECT')).not.toBe('DIRECT 200');
    const agentDenied = events.filter((e) => e.task === outcome.task && e.kind === 'net.denied' && e.data.host === HOST);
    expect(agentDenied.length).toBeGreaterThan(0);
    // Hostile remotes: bounded, ended with the reason, the call answered with it, recorded.
    expect(lineOf(events, 'HUGE')).toContain('larger than 262144 bytes');
    expect(lineOf(events, 'DRIP')).toContain('did not answer tools/call within 3 s');
    expect(lineOf(events, 'CTYPE')).toContain('Content-Type \\"text/html\\"');
    expect(lineOf(events, 'REDIRECT')).toContain('redirect (HTTP 307)');
    const ended = Object.fromEntries(events.filter((e) => e.kind === 'mcp.server' && e.data.state === 'ended' && e.data.reason !== 'the task ended').map((e) => [e.data.server, String(e.data.reason)]));
    expect(Object.keys(ended).sort()).toEqual(['ctype', 'drip', 'huge', 'redirect']);
    const failed = events.filter((e) => e.kind === 'mcp.call' && e.data.error !== undefined).map((e) => e.data.server);
    expect(failed).toEqual(expect.arrayContaining(['huge', 'drip', 'ctype', 'redirect']));
    // The redirect was not followed: nothing dialled but the server's own address.
    expect(new Set(dialled)).toEqual(new Set([`${PUBLIC}:443`]));
    // A remote that echoes the secret: the gateway masks it in the answer (cred.misuse); the secret is nowhere the agent can see, nor in any record.
    expect(lineOf(events, 'LEAK')).toContain('you sent Bearer ***');
    expect(events.some((e) => e.kind === 'cred.misuse' && serverTask(e.task) && String(e.data.reason).includes('carried the secret of tracker-token'))).toBe(true);
    expect(lineOf(events, 'ENV')).toBe('ENV 0');
    expect(JSON.stringify(events)).not.toContain(SECRET);
    // Airlock kept working: the honest server still answers after the others were ended.
    expect(lineOf(events, 'AGAIN')).toContain('whoami done, credential real');
    // Every server task was registered with the gateway under its own id and is gone with the task.
    const serverTasks = events.filter((e) => e.kind === 'task.created' && e.data.mcp !== undefined).map((e) => e.task);
    expect(serverTasks).toHaveLength(7);
    for (const task of serverTasks) expect(events.some((e) => e.task === task && e.kind === 'task.destroyed')).toBe(true);
    const granted = events.filter((e) => e.kind === 'cred.granted');
    expect(granted.map((e) => e.data.hosts)).toEqual([[HOST], [HOST]]);
    expect(granted.every((e) => serverTasks.includes(e.task))).toBe(true);
  }, 120_000);
});
