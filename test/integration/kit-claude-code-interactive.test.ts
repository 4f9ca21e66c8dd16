import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { Keychain } from '../../main/core/credentials/keychain.js';
import { stopEngine } from '../helpers/engine.js';
import { runCli, tempDir } from '../helpers/env.js';
import { addPresetCredential, kitProject } from '../helpers/kits.js';
import { startPtySession } from '../helpers/pty-session.js';
import { startAnthropicApi, writeFile } from '../helpers/providers/anthropic.js';

/**
 * `airlock run claude-code -it`: the real Claude Code TUI on a real pseudo-terminal (`script`), as a
 * person at a terminal runs it, against a pretend Anthropic API. The kit's start script must get it
 * past its first-run screens (onboarding, folder trust, "use this API key?") straight to its prompt;
 * a prompt typed there makes the pretend model call the Write tool; the file comes out of the
 * sandbox; the log has the terminal session and not one keystroke.
 */
const HOST = 'api.anthropic.test';
const CREDENTIAL = 'anthropic';
const KEY = `sk-ant-api03-TUI_SENTINEL_${process.pid}_7c1a`;
const TYPED = `please write the greeting file TYPED_MARKER_${process.pid}`;
const GREETING = { path: '/workspace/out/greeting.txt', content: 'hello from the claude code tui\n' };
// One word: the TUI moves the cursor between words rather than printing spaces.
const FINAL = 'GREETING_WRITTEN';

describe('airlock run claude-code -it (the real TUI on a pseudo-terminal)', () => {
  const dir = tempDir('airlock-kit-claude-tui-');
  const home = path.join(dir, 'home');
  const outputs = path.join(dir, 'out');
  let api: Awaited<ReturnType<typeof startAnthropicApi>>;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    api = await startAnthropicApi({ host: HOST, key: KEY, script: { calls: [writeFile(GREETING.path, GREETING.content)], finalText: FINAL } });
    env = { AIRLOCK_HOME: home, AIRLOCK_GATEWAY_HOSTS: `${HOST}=127.0.0.1`, AIRLOCK_UPSTREAM_CA: api.caFile };
    const added = await addPresetCredential({ name: CREDENTIAL, preset: 'anthropic', host: `${HOST}:${api.port}`, secret: KEY, env });
    expect(added.code).toBe(0);
  });

  afterAll(async () => {
    new Keychain().delete(`credential:${CREDENTIAL}`);
    await api?.close();
    await stopEngine(home);
  });

  it('opens at its prompt, a typed prompt makes it write a file that is collected, and the log has the session without the keys', { timeout: 180_000 }, async () => {
    const session = startPtySession(['run', 'claude-code', '-it', '--endpoint', api.url, '--output', outputs], { dir, env, cols: 120, rows: 40, cwd: kitProject() });
    try {
      // Straight to its prompt, in the project's copy: no onboarding, no "trust this folder?", no "use this API key?".
      await session.waitFor('bypass permissions on', 90_000);
      expect(session.shown()).toContain('/workspace/project');
      expect(session.shown()).toContain('Claude Code');
      expect(session.shown()).not.toMatch(/trust this folder|Do you want to use this API key|Unable to connect/);
      session.type(TYPED);
      await new Promise((resolve) => setTimeout(resolve, 300)); // a paste and its Enter apart, as a person types
      session.type('\r');
      await session.waitFor(FINAL, 90_000);
      session.type('/exit');
      await new Promise((resolve) => setTimeout(resolve, 300));
      session.type('\r');
      expect(await session.exited).toBe(0);
    } finally {
      session.kill();
    }
    expect(fs.readFileSync(path.join(outputs, 'greeting.txt'), 'utf8')).toBe(GREETING.content);
    expect(api.requests.find((r) => r.toolResult)?.toolResult).toMatchObject({ isError: false });
    for (const request of api.requests) expect(request).toMatchObject({ key: 'real', placeholderIn: [] });

    const task = /(t_[0-9a-hjkmnp-tv-z]{26})/.exec(session.shown())![1]!;
    const log = await runCli(['log', task, '--json'], { env });
    const events = log.stdout.trim().split('\n').map((line) => JSON.parse(line) as AirlockEvent);
    const kinds = events.map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['terminal.started', 'terminal.ended', 'cred.used', 'fs.output']));
    // Its background traffic (telemetry, the plugin marketplace) is off: nothing was refused.
    expect(events.filter((e) => e.kind === 'net.denied' || e.kind === 'cred.misuse')).toEqual([]);
    // Neither what was typed nor the key is in the log.
    expect(log.stdout).not.toContain('TYPED_MARKER');
    expect(log.stdout).not.toContain(KEY);
  });
});
