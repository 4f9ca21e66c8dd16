import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { argsSchema, endpointSchema } from '../../preload/contract.js';
import { kitDockerfile } from '../../main/core/images/image-kit.js';
import { parseEndpoint } from '../../main/core/kits/endpoint.js';
import { findKit, kitOfManifest, listKits, parseKit } from '../../main/core/kits/kit.js';
import { applyKit } from '../../main/core/kits/kit-run.js';
import { KitVersions } from '../../main/core/kits/kit-versions.js';
import { loadManifestFile } from '../../main/core/policy/manifest.js';
import { REPO, specFrom, tempDir } from '../helpers/env.js';

const ASSETS = path.join(REPO, 'assets');
const KIT_YAML = 'package: "@scope/tool"\nversion: "1.2.3"\nbin: tool\nprovider: anthropic\nendpoint: { default: https://api.anthropic.com, env: BASE_URL }\n';

describe('kit.yaml', () => {
  it('parses a kit; the credential defaults to the provider\'s name', () => {
    expect(parseKit(KIT_YAML, 'tool')).toEqual({
      name: 'tool', package: '@scope/tool', version: '1.2.3', bin: 'tool', provider: 'anthropic', credential: 'anthropic',
      endpoint: { default: 'https://api.anthropic.com', env: 'BASE_URL' }, files: {},
    });
  });

  it('refuses a version range or tag, an unknown field or provider, an endpoint the tool is not told, prune without postinstall', () => {
    expect(() => parseKit(KIT_YAML.replace('"1.2.3"', '"^1.2.3"'), 'tool')).toThrow(/version: must be an exact version/);
    expect(() => parseKit(KIT_YAML.replace('"1.2.3"', 'latest'), 'tool')).toThrow(/version: must be an exact version/);
    expect(() => parseKit(`${KIT_YAML}scripts: true\n`, 'tool')).toThrow(/scripts: unknown field/);
    expect(() => parseKit(KIT_YAML.replace('provider: anthropic', 'provider: acme'), 'tool')).toThrow(/provider: must be a credential preset/);
    expect(() => parseKit(KIT_YAML.replace(', env: BASE_URL', ''), 'tool')).toThrow(/needs env or args/);
    expect(() => parseKit(KIT_YAML.replace('https://api', 'http://api'), 'tool')).toThrow(/endpoint.default/);
    expect(() => parseKit(`${KIT_YAML}prune: [node_modules/x]\n`, 'tool')).toThrow(/prune: is only for what postinstall copied/);
    expect(() => parseKit(`${KIT_YAML}postinstall: [node, x.js]\nprune: [../../etc]\n`, 'tool')).toThrow(/prune.*relative path/);
    expect(() => parseKit(`${KIT_YAML}files: { "../etc/x": "y" }\n`, 'tool')).toThrow(/files.*Invalid key/);
  });

  it('the shipped kits parse and match their manifests (image at kit.yaml\'s version, the credential lent by proxy)', () => {
    const kits = listKits(ASSETS);
    expect(kits.map((k) => k.name)).toEqual(['claude-code', 'codex', 'gemini-cli']);
    for (const kit of kits) {
      const loaded = loadManifestFile(path.join(ASSETS, 'agents', kit.name, 'manifest.yaml'));
      expect(kitOfManifest(loaded.file, loaded.manifest, ASSETS)).toEqual(kit);
      expect(loaded.manifest.network).toMatchObject({ mode: 'allowlist', local: [], onUnknownHost: 'deny' });
      expect(loaded.manifest.network.allow).toHaveLength(1);
    }
    expect(() => findKit(ASSETS, 'demo')).toThrow(/no kit demo[\s\S]*/);
  });

  it('a kit.yaml beside a manifest outside the shipped agents makes nothing a kit', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'kit.yaml'), KIT_YAML);
    fs.writeFileSync(path.join(dir, 'manifest.yaml'), 'name: tool\ncommand: [tool]\n');
    const loaded = loadManifestFile(path.join(dir, 'manifest.yaml'));
    expect(kitOfManifest(loaded.file, loaded.manifest, ASSETS)).toBeUndefined();
    expect(kitOfManifest(loaded.file, loaded.manifest, path.dirname(dir))).toBeUndefined();
  });

  it('kits.json: the version built last is the one run uses; the pinned one clears it', () => {
    const home = tempDir();
    const versions = new KitVersions(home);
    const kit = { name: 'codex', version: '0.171.0' };
    expect(versions.versionOf(kit)).toBe('0.171.0');
    versions.use(kit, '0.172.0');
    expect(versions.versionOf(kit)).toBe('0.172.0');
    versions.use(kit, '0.171.0');
    expect(JSON.parse(fs.readFileSync(path.join(home, 'kits.json'), 'utf8'))).toEqual({ v: 1, versions: {} });
  });
});

describe('--endpoint', () => {
  it('takes an https URL (or http to a loopback address) to one host and port, and its grant host', () => {
    expect(parseEndpoint('https://LLM.corp.example/')).toMatchObject({ url: 'https://llm.corp.example', port: 443, localRule: 'llm.corp.example:443', grantHost: 'llm.corp.example' });
    expect(parseEndpoint('https://llm.corp.example:8443/anthropic/')).toMatchObject({ url: 'https://llm.corp.example:8443/anthropic', localRule: 'llm.corp.example:8443', grantHost: 'llm.corp.example:8443' });
    expect(parseEndpoint('http://127.0.0.1:4000/v1')).toMatchObject({ url: 'http://127.0.0.1:4000/v1', localRule: '127.0.0.1:4000' });
    expect(parseEndpoint('http://[::1]:4000')).toMatchObject({ url: 'http://[::1]:4000', localRule: '[::1]:4000' });
  });

  it('refuses everything else, saying why', () => {
    const refusals: [string, RegExp][] = [
      ['llm.corp.example', /is not a URL/],
      ['http://llm.corp.example', /http:\/\/ is only for a gateway on this machine/],
      ['http://localhost:4000', /http:\/\/ is only for a gateway on this machine/],
      ['http://10.0.0.1', /http:\/\/ is only for a gateway on this machine/],
      ['ws://llm.corp.example', /ws: is not https:/],
      ['https://user:pw@llm.corp.example', /user name or password/],
      ['https://user@llm.corp.example', /user name or password/],
      ['https://llm.corp.example?x=1', /query or fragment/],
      ['https://llm.corp.example/#x', /query or fragment/],
      ['https://llm.corp.example/ x', /spaces or control characters/],
      [`https://${'a'.repeat(2100)}.example`, /longer than 2048/],
      ['https://exa_mple.test', /is not a host/],
    ];
    for (const [text, message] of refusals) expect(() => parseEndpoint(text), text).toThrow(message);
  });
});

describe('a kit\'s run', () => {
  const loaded = loadManifestFile(path.join(ASSETS, 'agents', 'claude-code', 'manifest.yaml'));
  const kit = findKit(ASSETS, 'claude-code');
  const stored = (hosts: string[] | undefined) => () => hosts;

  it('without --endpoint: the shipped network, the tool told the default, the kit\'s image at the version in use', () => {
    const run = applyKit(loaded, kit, { version: '9.9.9', credentialHosts: stored(['api.anthropic.com']), netOverride: false });
    expect(run.loaded.manifest.network).toEqual(loaded.manifest.network);
    expect(run.loaded.manifest.env.ANTHROPIC_BASE_URL).toBe('https://api.anthropic.com');
    expect(run.image).toBe('airlock/kit-claude-code:9.9.9');
    expect(run.grantHosts).toBeUndefined();
  });

  it('with --endpoint: exactly one local rule, nothing else allowed, unknown hosts denied; the grant for that host only', () => {
    const wide = { ...loaded, manifest: { ...loaded.manifest, network: { ...loaded.manifest.network, allow: ['*.anthropic.com'], local: ['127.0.0.1:22'], onUnknownHost: 'ask' as const } } };
    const run = applyKit(wide, kit, { endpoint: 'https://llm.corp.example:8443', version: kit.version, credentialHosts: stored(['api.anthropic.com', 'llm.corp.example:8443']), netOverride: false });
    expect(run.loaded.manifest.network).toMatchObject({ mode: 'allowlist', allow: [], local: ['llm.corp.example:8443'], onUnknownHost: 'deny' });
    expect(run.loaded.manifest.env.ANTHROPIC_BASE_URL).toBe('https://llm.corp.example:8443');
    expect(run.grantHosts).toEqual(['llm.corp.example:8443']);
    expect(run.loaded.digest).toBe(loaded.digest);
  });

  it('refuses a missing credential with the command that adds it, a credential not for the endpoint, and --net beside --endpoint', () => {
    expect(() => applyKit(loaded, kit, { version: kit.version, credentialHosts: stored(undefined), netOverride: false }))
      .toThrow(expect.objectContaining({ code: 'credential_missing', message: "kit claude-code needs the credential 'anthropic'", hint: 'add it: airlock cred add anthropic --preset anthropic  (the key on stdin or at the prompt)' }));
    expect(() => applyKit(loaded, kit, { endpoint: 'https://llm.corp.example', version: kit.version, credentialHosts: stored(['api.anthropic.com']), netOverride: false }))
      .toThrow(expect.objectContaining({ hint: 'add the host to it: airlock cred add anthropic --preset anthropic --host llm.corp.example' }));
    // A credential for the host on 443 is not one for another port.
    expect(() => applyKit(loaded, kit, { endpoint: 'https://llm.corp.example:8443', version: kit.version, credentialHosts: stored(['llm.corp.example']), netOverride: false })).toThrow(/is not for llm\.corp\.example:8443/);
    expect(() => applyKit(loaded, kit, { endpoint: 'https://llm.corp.example', version: kit.version, credentialHosts: stored(['llm.corp.example']), netOverride: true })).toThrow(/--net cannot be given with it/);
  });

  it('codex is told the endpoint in arguments before the user\'s', () => {
    const codex = findKit(ASSETS, 'codex');
    const manifest = loadManifestFile(path.join(ASSETS, 'agents', 'codex', 'manifest.yaml'));
    const run = applyKit(manifest, codex, { endpoint: 'https://llm.corp.example/v1', version: codex.version, credentialHosts: stored(['llm.corp.example']), netOverride: false });
    expect(run.loaded.manifest.command!.join(' ')).toContain('base_url = "https://llm.corp.example/v1"');
    const pathless = applyKit(manifest, codex, { endpoint: 'https://llm.corp.example:8443', version: codex.version, credentialHosts: stored(['llm.corp.example:8443']), netOverride: false });
    expect(pathless.endpoint).toBe('https://llm.corp.example:8443/v1');
    const azure = applyKit(manifest, codex, { endpoint: 'https://llm.corp.example/openai/v1', version: codex.version, credentialHosts: stored(['llm.corp.example']), netOverride: false });
    expect(azure.endpoint).toBe('https://llm.corp.example/openai/v1');
  });
});

describe('arguments after --', () => {
  it('are appended to the command, within bounds', () => {
    const dir = tempDir();
    const yaml = 'name: x\ncommand: [tool, --flag]\n';
    expect(specFrom(dir, yaml, { args: ['-p', 'hi there'] }).command).toEqual(['tool', '--flag', '-p', 'hi there']);
    expect(() => specFrom(dir, yaml, { args: Array.from({ length: 201 }, () => 'a') })).toThrow(/arguments: 201 given, at most 200/);
    expect(() => specFrom(dir, yaml, { args: ['x'.repeat(32 * 1024 + 1)] })).toThrow(/arguments: #1 is longer than 32 KiB/);
    expect(() => specFrom(dir, yaml, { args: ['a\0b'] })).toThrow(/arguments: #1 contains NUL/);
    expect(() => specFrom(dir, 'name: x\n', { args: ['a'] })).toThrow(/arguments after -- need the manifest's command/);
  });

  it('the contract refuses what the engine would (a client is not trusted)', () => {
    expect(argsSchema.safeParse(['a', 'b']).success).toBe(true);
    expect(argsSchema.safeParse(Array.from({ length: 201 }, () => 'a')).success).toBe(false);
    expect(argsSchema.safeParse(['a\0b']).success).toBe(false);
    expect(argsSchema.safeParse(['é'.repeat(20_000)]).success).toBe(false); // 40 000 bytes
    expect(endpointSchema.safeParse('https://llm.corp.example').success).toBe(true);
    expect(endpointSchema.safeParse('file:///etc/passwd').success).toBe(false);
  });
});

describe('a kit\'s Dockerfile', () => {
  it('COPY only; the install step runs in a stage of its own, pruned; the command linked on PATH', () => {
    const kit = findKit(ASSETS, 'claude-code');
    const text = kitDockerfile(kit, []);
    expect(text).toMatch(/^FROM airlock\/agent-base:1 AS install\n/);
    expect(text).toContain("'node' 'node_modules/@anthropic-ai/claude-code/install.cjs'; rm -rf -- node_modules/@anthropic-ai/claude-code-linux-*");
    expect(text).toContain('COPY --from=install /opt/airlock/kits/claude-code/ /opt/airlock/kits/claude-code/');
    expect(text).toContain("ln -s '/opt/airlock/kits/claude-code/node_modules/.bin/claude' '/usr/local/bin/claude'");
    expect(text.trim().split('\n').filter((l) => l.startsWith('USER')).at(-1)).toBe('USER 10001:10001');
    const gemini = kitDockerfile(findKit(ASSETS, 'gemini-cli'), ['/etc/gemini-cli/settings.json']);
    expect(gemini).not.toContain('AS install');
    expect(gemini).toContain('COPY files/0 /etc/gemini-cli/settings.json');
  });
});
