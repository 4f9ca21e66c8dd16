import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findKit, kitOfManifest } from '../../main/core/kits/kit.js';
import { withKit } from '../../main/core/kits/kit-manifest.js';
import { kitMcpConfig } from '../../main/core/kits/kit-mcp.js';
import { applyKit } from '../../main/core/kits/kit-run.js';
import { EventBus } from '../../main/core/audit/bus.js';
import { systemClock } from '../../main/core/clock.js';
import { allowHostAlways } from '../../main/core/policy/approval.js';
import { loadManifestFile } from '../../main/core/policy/manifest.js';
import { AgentRegistry } from '../../main/core/policy/registry.js';
import { approvalSummary } from '../../main/core/service/approval-summary.js';
import { REPO, tempDir } from '../helpers/env.js';

const ASSETS = path.join(REPO, 'assets');
const SERVERS = [{ name: 'files' }, { name: 'issue-tracker' }];
const covered = () => ['api.anthropic.com', 'api.openai.com', 'generativelanguage.googleapis.com'];

/** A user's manifest naming a kit, loaded as the agent registry loads it. */
function kitManifest(text: string) {
  const file = path.join(tempDir('airlock-kit-mcp-'), 'agent.yaml');
  fs.writeFileSync(file, text);
  return withKit(loadManifestFile(file), ASSETS);
}

const NOTES = 'name: notes\nkit: claude-code\nbudget: { usd: 2 }\nmcp:\n  - { name: files, command: [node, /srv/s.js], inputs: [{ from: ./srv, to: /srv }], tools: { read: allow } }\n  - { name: issue-tracker, url: "https://mcp.tracker.test/mcp", tools: { list: ask } }\n';

describe('MCP client configuration of the kits, in each tool\'s documented format', () => {
  it('claude: --mcp-config with {"mcpServers": {name: {"type": "http", "url"}}} and --strict-mcp-config', () => {
    const { args, wrap } = kitMcpConfig('claude', SERVERS);
    expect(wrap).toBeUndefined();
    expect(args).toHaveLength(3);
    expect(args[0]).toBe('--mcp-config');
    expect(JSON.parse(args[1]!)).toEqual({ mcpServers: {
      files: { type: 'http', url: 'http://airlock.internal/mcp/files' },
      'issue-tracker': { type: 'http', url: 'http://airlock.internal/mcp/issue-tracker' },
    } });
    expect(args[2]).toBe('--strict-mcp-config');
  });

  it('codex: one -c mcp_servers.<name>.url="…" override a server (a TOML basic string)', () => {
    expect(kitMcpConfig('codex', SERVERS).args).toEqual([
      '-c', 'mcp_servers.files.url="http://airlock.internal/mcp/files"',
      '-c', 'mcp_servers.issue-tracker.url="http://airlock.internal/mcp/issue-tracker"',
    ]);
  });

  it('gemini: a start step writes $HOME/.gemini/settings.json (mcpServers.<name>.httpUrl, mcp.allowed), then runs the command', () => {
    const { args, wrap } = kitMcpConfig('gemini', SERVERS);
    expect(args).toEqual([]);
    const home = tempDir('airlock-kit-mcp-home-');
    const printed = execFileSync(wrap![0]!, [...wrap!.slice(1), 'cat', path.join(home, '.gemini', 'settings.json')], { env: { HOME: home, PATH: process.env.PATH }, encoding: 'utf8' });
    expect(JSON.parse(printed)).toEqual({
      mcpServers: { files: { httpUrl: 'http://airlock.internal/mcp/files' }, 'issue-tracker': { httpUrl: 'http://airlock.internal/mcp/issue-tracker' } },
      mcp: { allowed: ['files', 'issue-tracker'] },
    });
  });
});

describe('a manifest naming a kit', () => {
  it('is the kit\'s manifest with its own name, servers and limits; the tool is told the servers before the user\'s arguments', () => {
    const loaded = kitManifest(NOTES);
    const base = loadManifestFile(path.join(ASSETS, 'agents', 'claude-code', 'manifest.yaml')).manifest;
    expect(loaded.manifest).toMatchObject({ name: 'notes', kit: 'claude-code', image: base.image, network: base.network, credentials: base.credentials, budget: { usd: 2 } });
    expect(loaded.manifest.mcp.map((s) => s.name)).toEqual(['files', 'issue-tracker']);
    const kit = kitOfManifest(loaded.file, loaded.manifest, ASSETS)!;
    expect(kit.name).toBe('claude-code');
    const run = applyKit(loaded, kit, { version: kit.version, credentialHosts: covered, netOverride: false });
    const command = run.loaded.manifest.command!;
    expect(command.slice(0, 3)).toEqual([...base.command!, '--mcp-config']);
    expect(JSON.parse(command[3]!).mcpServers.files.url).toBe('http://airlock.internal/mcp/files');
    expect(command[4]).toBe('--strict-mcp-config');
    expect(run.loaded.manifest.network).toEqual(base.network); // the servers widen nothing
    // What the person approving the file sees: the kit's image and network, and every server with its rules.
    const rows = Object.fromEntries(approvalSummary(loaded).rows.map((r) => [r.label, r.text]));
    expect(rows.image).toBe(base.image);
    expect(rows['mcp servers']).toBe('files: ["node","/srv/s.js"] in a sandbox of its own, network none; tools read allow, others deny'
      + ' | issue-tracker: https://mcp.tracker.test/mcp; tools list ask, others deny');
  });

  it('codex and gemini-cli get theirs; the built-in kits themselves are unchanged', () => {
    for (const name of ['codex', 'gemini-cli']) {
      const loaded = kitManifest(NOTES.replace('kit: claude-code', `kit: ${name}`));
      const run = applyKit(loaded, findKit(ASSETS, name), { version: findKit(ASSETS, name).version, credentialHosts: covered, netOverride: false });
      expect(run.loaded.manifest.command!.join(' ')).toContain(name === 'codex' ? 'mcp_servers.files.url=' : '"httpUrl":"http://airlock.internal/mcp/files"');
      const builtIn = loadManifestFile(path.join(ASSETS, 'agents', name, 'manifest.yaml'));
      const plain = applyKit(builtIn, findKit(ASSETS, name), { version: findKit(ASSETS, name).version, credentialHosts: covered, netOverride: false });
      expect(plain.loaded.manifest.command!.join(' ')).not.toMatch(/mcp/);
    }
  });

  it('cannot change what the kit is (image, command, network, credentials, env…), nor name a kit that is not one', () => {
    for (const extra of ['image: evil:1', 'command: [sh]', 'network: { mode: open }', 'credentials: [{ name: other, env: X }]', 'env: { A: b }', 'inputs: [{ from: /etc, to: /x }]']) {
      expect(() => kitManifest(`${NOTES}${extra}\n`)).toThrow(/a manifest with kit: takes everything else from the kit/);
    }
    expect(() => kitManifest(NOTES.replace('kit: claude-code', 'kit: demo'))).toThrow(/no kit demo/);
  });

  it('"always" on a kit: manifest adds no host to it (the network is the kit\'s): refused, the file unchanged', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'notes.yaml');
    fs.writeFileSync(file, NOTES);
    const recorder = { registry: new AgentRegistry(path.join(dir, 'home'), path.join(REPO, 'assets')), bus: new EventBus(systemClock), trail: () => ({ flush: async () => undefined }) };
    await expect(allowHostAlways(recorder, file, { host: 'api.other.test', port: 443 }, 'me')).rejects.toThrow(/runs the claude-code kit, whose network is the kit's/);
    expect(fs.readFileSync(file, 'utf8')).toBe(NOTES);
  });
});
