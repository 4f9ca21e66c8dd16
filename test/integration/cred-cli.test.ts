import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Keychain } from '../../main/core/credentials/keychain.js';
import { approve, CLI, runCli, tempDir } from '../helpers/env.js';

const NAME = `cli-test-${process.pid}`;
afterAll(() => {
  new Keychain().delete(`credential:${NAME}`);
});

/** Runs the CLI with text on its standard input (how a secret is given). */
function withStdin(args: string[], input: string, env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('airlock cred', () => {
  it('add reads the secret from stdin into the keychain; ls never shows it; rm removes it from both', async () => {
    const home = path.join(tempDir(), 'home');
    const env = { AIRLOCK_HOME: home };
    const added = await withStdin(['cred', 'add', NAME, '--host', 'api.vendor.test', '--host', '*.cdn.vendor.test', '--max-ttl', '30m'], 'tok_cli_SENTINEL_77\n', env);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(new RegExp(`stored ${NAME} in the OS keychain: for api\\.vendor\\.test, \\*\\.cdn\\.vendor\\.test \\(Authorization: Bearer …\\), at most 30m per task`));
    expect(new Keychain().get(`credential:${NAME}`)).toBe('tok_cli_SENTINEL_77');

    const listed = await runCli(['cred', 'ls'], { env });
    expect(listed.stdout).toMatch(new RegExp(`${NAME}\\s+api\\.vendor\\.test,\\*\\.cdn\\.vendor\\.test\\s+Authorization: Bearer …\\s+30m`));
    expect(listed.stdout).toMatch(/NAME\s+HOSTS\s+INJECTION\s+MAX TTL/);
    expect(listed.stdout + fs.readFileSync(path.join(home, 'credentials.json'), 'utf8')).not.toContain('SENTINEL');

    const removed = await runCli(['cred', 'rm', NAME], { env });
    expect(removed.code).toBe(0);
    expect(new Keychain().get(`credential:${NAME}`)).toBeNull();
    expect((await runCli(['cred', 'ls'], { env })).stdout).toMatch(/no credentials/);
  });

  it('refuses bad input with the field named: an empty secret, a bad host, a bad header', async () => {
    const env = { AIRLOCK_HOME: path.join(tempDir(), 'home') };
    const empty = await withStdin(['cred', 'add', NAME, '--host', 'api.vendor.test'], '', env);
    expect(empty).toMatchObject({ code: 125 });
    expect(empty.stderr).toMatch(/the secret is empty/);
    const host = await withStdin(['cred', 'add', NAME, '--host', 'https://api.vendor.test/'], 'x', env);
    expect(host.stderr).toMatch(/--host: 'https:\/\/api\.vendor\.test\/' is not a host/);
    const header = await withStdin(['cred', 'add', NAME, '--host', 'a.test', '--header', 'Authorization Bearer'], 'x', env);
    expect(header.stderr).toMatch(/--header: 'Authorization Bearer' must be "Name: value" with \{secret\} once/);
  });
});

describe('airlock cred add --preset', () => {
  const PRESET_NAME = `cli-preset-${process.pid}`;
  afterAll(() => {
    new Keychain().delete(`credential:${PRESET_NAME}`);
  });

  it('fills hosts and injection from the preset (--host replaces its hosts); on a terminal the secret is asked for and never shown', async () => {
    const home = path.join(tempDir(), 'home');
    const env = { AIRLOCK_HOME: home };
    // `script` gives the CLI a real terminal: what it writes there is all a person (or a screen recording) sees.
    const child = spawn('script', ['-qfec', `${process.execPath} ${CLI} cred add ${PRESET_NAME} --preset github`, '/dev/null'], { env: { ...process.env, NO_COLOR: '1', ...env } });
    let screen = '';
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
      if (screen.includes('(not shown): ') && !screen.includes('typed')) {
        screen += 'typed';
        child.stdin.write('ghp_TTY_SENTINEL_4242\r');
      }
    });
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(0);
    expect(screen).toMatch(new RegExp(`stored ${PRESET_NAME} in the OS keychain: for github\\.com \\(Basic x-access-token:…\\)`));
    expect(screen).not.toContain('SENTINEL');
    expect(new Keychain().get(`credential:${PRESET_NAME}`)).toBe('ghp_TTY_SENTINEL_4242');

    const replaced = await withStdin(['cred', 'add', PRESET_NAME, '--preset', 'anthropic', '--host', 'llm.corp.test'], 'sk-ant-x\n', env);
    expect(replaced.code).toBe(0);
    const listed = await runCli(['cred', 'ls'], { env });
    expect(listed.stdout).toMatch(new RegExp(`${PRESET_NAME}\\s+llm\\.corp\\.test\\s+x-api-key: …\\s+1h\\s+Anthropic API key`));
    const unknown = await withStdin(['cred', 'add', PRESET_NAME, '--preset', 'acme'], 'x', env);
    expect(unknown).toMatchObject({ code: 125 });
    expect(unknown.stderr).toMatch(/--preset: 'acme' is not a preset/);
  });
});

describe('asking at the terminal', () => {
  it('on a terminal, the CLI asks about an unknown host and the answer decides', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'agent.yaml'), 'name: asker\ncommand: ["sh", "-c", "curl -s -o /dev/null -w \'%{http_code}\\\\n\' http://10.255.255.1/"]\nnetwork: { mode: allowlist, local: ["127.0.0.1:9"], onUnknownHost: ask, askTimeout: 20s }\n');
    approve(path.join(dir, 'agent.yaml'), path.join(dir, 'home'));
    // `script` gives the CLI a real pseudo-terminal; "d" answers the prompt with deny.
    const child = spawn('script', ['-qfec', `${process.execPath} ${CLI} run ${path.join(dir, 'agent.yaml')}`, '/dev/null'], { env: { ...process.env, NO_COLOR: '1', AIRLOCK_HOME: path.join(dir, 'home') } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('[d]eny?') && !out.includes('answered')) {
        out += 'answered';
        child.stdin.write('d\r');
      }
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(out).toMatch(/The agent wants to reach a host that is not in its allowlist:\r?\n {2}10\.255\.255\.1:80\r?\n/);
    expect(out).toMatch(/10\.255\.255\.1:80 denied/);
    expect(out).toMatch(/│ 403/);
    expect(code).toBe(0);
  });
});
