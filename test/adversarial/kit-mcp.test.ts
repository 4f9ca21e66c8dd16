import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keychain } from '../../main/core/credentials/keychain.js';
import { REPO, runCli, tempDir } from '../helpers/env.js';
import { stopEngine } from '../helpers/engine.js';
import { bash, startAnthropicApi } from '../helpers/providers/anthropic.js';
import { addPresetCredential, kitProject, runKit, type KitRunResult } from '../helpers/kits.js';

/**
 * The real Claude Code (the kit's image) given an MCP server by a manifest of the user's that
 * names the kit (`kit: claude-code` + `mcp:`). Airlock tells the tool the server's broker address
 * (`--mcp-config`, `--strict-mcp-config`); a scripted model then calls an allowed tool (it reaches
 * the stdio server, in a sandbox of its own, through the broker, and is recorded as mcp.call), asks
 * for a denied one (which the tool never even sees), and tries to reach the server some other way
 * (a project `.mcp.json` naming another address, and the server's name as a host): nothing but the
 * broker answers. The kit's network is unchanged.
 */
const HOST = 'api.anthropic.test';
const CREDENTIAL = 'anthropic';
const KEY = `sk-ant-api03-KITMCP_${process.pid}_5c1d`;

describe('a kit run with MCP servers: the tool uses them through Airlock only', () => {
  const root = tempDir('airlock-kit-mcp-');
  const home = path.join(root, 'home');
  const outputs = path.join(root, 'out');
  const manifest = path.join(root, 'agent', 'claude-notes.yaml');
  let api: Awaited<ReturnType<typeof startAnthropicApi>>;
  let run: KitRunResult;
  let approve: Awaited<ReturnType<typeof runCli>>;

  beforeAll(async () => {
    fs.mkdirSync(path.join(root, 'agent', 'mcp'), { recursive: true });
    fs.copyFileSync(path.join(REPO, 'test/adversarial/mcp/server.cjs'), path.join(root, 'agent', 'mcp', 'server.cjs'));
    fs.writeFileSync(manifest, [
      'name: claude-notes', 'kit: claude-code', 'mcp:', '  - name: files',
      '    command: ["node", "/srv/mcp/server.cjs", "files"]', '    inputs: [{ from: ./mcp, to: /srv/mcp }]',
      '    tools: { read_note: allow, delete_all: deny }', '',
    ].join('\n'));
    api = await startAnthropicApi({ host: HOST, key: KEY, script: {
      calls: [
        { name: 'mcp__files__read_note', input: { name: 'plan' } },
        { name: 'mcp__files__delete_all', input: {} },
        bash('curl -s -m 5 -o /dev/null -w "direct=%{http_code}" http://files/mcp; echo; curl -s -m 5 -o /dev/null -w "other=%{http_code}" http://airlock.internal/mcp/nope'),
      ],
      finalText: 'Done.',
    } });
    const env = { AIRLOCK_HOME: home, AIRLOCK_GATEWAY_HOSTS: `${HOST}=127.0.0.1`, AIRLOCK_UPSTREAM_CA: api.caFile };
    expect((await addPresetCredential({ name: CREDENTIAL, preset: 'anthropic', host: `${HOST}:${api.port}`, secret: KEY, env })).code).toBe(0);
    approve = await runCli(['agents', 'approve', manifest], { env });
    const project = kitProject();
    // The project names a server of its own: --strict-mcp-config leaves it out.
    fs.writeFileSync(path.join(project, '.mcp.json'), JSON.stringify({ mcpServers: { sneaky: { type: 'http', url: 'http://sneaky.test/mcp' } } }));
    run = await runKit(manifest, { endpoint: api.url, output: outputs, project, env, toolArgs: ['-p', 'Read the plan note.'] });
  }, 240_000);

  afterAll(async () => {
    new Keychain().delete(`credential:${CREDENTIAL}`);
    await api?.close();
    await stopEngine(home);
  });

  it('the person approved the servers they were shown, and the run ended normally', () => {
    expect(approve.code).toBe(0);
    expect(approve.stdout).toContain('mcp servers:');
    expect(approve.stdout).toContain('files: ["node","/srv/mcp/server.cjs","files"] in a sandbox of its own, network none; tools read_note allow, delete_all deny, others deny');
    expect(run.code).toBe(0);
    expect(api.requests.at(-1)).toMatchObject({ answer: 'end_turn', key: 'real' });
  });

  it('the tool was offered the allowed MCP tool and nothing else of the server, and no other configured server', () => {
    // The first turn's request, before the model named any tool itself.
    const offered = (api.requests.find((r) => r.tools !== undefined)?.tools ?? []).filter((name) => name.startsWith('mcp__'));
    expect(offered).toContain('mcp__files__read_note');
    expect(offered).not.toContain('mcp__files__delete_all');
    expect(offered.some((name) => name.startsWith('mcp__sneaky__'))).toBe(false);
  });

  it('the allowed call reached the server through the broker and is in the log; the denied one never reached it', () => {
    const results = api.requests.flatMap((r) => (r.toolResult ? [r.toolResult] : []));
    expect(results[0]).toMatchObject({ isError: false });
    expect(results[0]!.text).toContain('read_note done {"name":"plan"}');
    expect(results[1]!.isError).toBe(true);
    const calls = run.events.filter((e) => e.kind === 'mcp.call');
    expect(calls.find((e) => e.data.tool === 'read_note')).toMatchObject({ actor: 'agent', data: { server: 'files' }, decision: { allow: true, rule: 'mcp:files:read_note' } });
    expect(calls.filter((e) => e.decision?.allow === true && e.data.tool !== 'read_note')).toEqual([]);
    expect(run.events.find((e) => e.kind === 'mcp.server' && e.data.state === 'started')).toBeTruthy();
  });

  it('no other way to the server: its name is no host, an unknown server is refused, the kit\'s network is unchanged', () => {
    const probe = api.requests.flatMap((r) => (r.toolResult ? [r.toolResult.text] : [])).find((text) => text.includes('direct='));
    expect(probe).toMatch(/direct=(000|403)/);
    expect(probe).toMatch(/other=404/);
    expect(run.events.find((e) => e.kind === 'net.denied' && e.data.host === 'files')).toBeTruthy();
    const created = run.events.find((e) => e.kind === 'task.created' && e.agent.name === 'claude-notes');
    expect(JSON.stringify(created?.data)).not.toContain('sneaky');
  });
});
