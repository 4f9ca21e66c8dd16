import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { harness, runCli, tempDir } from '../helpers/env.js';

describe('approved agents', () => {
  it('an unapproved manifest is refused without a terminal; approved it runs; changed it asks again', async () => {
    const dir = tempDir();
    const env = { AIRLOCK_HOME: path.join(dir, 'home') };
    const file = path.join(dir, 'agent.yaml');
    fs.writeFileSync(file, 'name: greeter\ncommand: ["echo", "hello"]\n');

    const refused = await runCli(['run', file], { env });
    expect(refused.code).toBe(125);
    expect(refused.stderr).toMatch(/agent greeter is not approved/);
    expect(refused.stderr).toMatch(/fix: review it and approve it: airlock agents approve .*agent\.yaml/);
    expect(refused.stdout).toBe('');

    const approved = await runCli(['agents', 'approve', file], { env });
    expect(approved.stdout).toMatch(/network: +none/);
    expect(approved.stdout).toMatch(/approved greeter \([0-9a-f]{12}\)/);
    expect((await runCli(['run', file], { env })).code).toBe(0);
    expect((await runCli(['run', 'greeter'], { env })).code).toBe(0); // by name, once registered

    fs.writeFileSync(file, 'name: greeter\ncommand: ["echo", "hello, changed"]\nnetwork: { mode: open }\n');
    const changed = await runCli(['run', file], { env });
    expect(changed.code).toBe(125);
    expect(changed.stderr).toMatch(/agent greeter: its manifest has changed since it was approved/);

    const listed = await runCli(['agents', 'ls'], { env });
    expect(listed.stdout).toMatch(/demo +built-in/);
    expect(listed.stdout).toMatch(/greeter +changed/);
    const shown = await runCli(['agents', 'show', 'greeter'], { env });
    expect(shown.stdout).toMatch(/approval: changed/);
    expect(shown.stdout).toMatch(/network: +open \(any public host\)/);
  });

  it('agents ls --shadow finds agent-like containers that Airlock did not start', async () => {
    const { engine } = harness();
    const shadow = await engine.api.createContainer({
      Image: 'airlock/agent-base:1', Cmd: ['sleep', '30'], name: `shadow-agent-${process.pid}`,
      Env: ['OPENAI_API_KEY=sk-not-a-real-key'], Labels: { 'airlock.test': '1' }, HostConfig: { NetworkMode: 'none', AutoRemove: true },
    });
    try {
      await shadow.start();
      const result = await runCli(['agents', 'ls', '--shadow'], { env: { AIRLOCK_HOME: path.join(tempDir(), 'home') } });
      expect(result.stdout).toMatch(new RegExp(`shadow-agent-${process.pid} +airlock/agent-base:1 +model API keys in its environment: OPENAI_API_KEY`));
      expect(result.stdout).not.toContain('sk-not-a-real-key');
    } finally {
      await shadow.remove({ force: true }).catch(() => undefined);
    }
  });
});
