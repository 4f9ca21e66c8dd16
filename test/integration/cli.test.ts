import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/env.js';

describe('airlock run demo', () => {
  it('runs the demo agent, prints its live log, and leaves its report in the folder it names', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'report');
    const result = await runCli(['run', 'demo', '--output', out], { env: { AIRLOCK_HOME: path.join(dir, 'home') } });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/started \(container [0-9a-f]{12}\)/);
    expect(result.stdout).toMatch(/INV-1043: supplier 'Acme Tooling' bank account differs from directory — flagged/);
    expect(result.stdout).toMatch(/exited with code 0/);
    expect(result.stdout).toMatch(/sandbox destroyed \(1 container, 1 volume\)/);
    expect(result.stdout).toContain(`outputs (2 files): ${out}`);
    expect(fs.readFileSync(path.join(out, 'report.md'), 'utf8')).toMatch(/INV-1043/);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'findings.json'), 'utf8'))).toBeTruthy();
  });

  it('--json prints one event per line, in order, all of one task', async () => {
    const dir = tempDir();
    const result = await runCli(['run', 'demo', '--json', '--output', path.join(dir, 'out')], { env: { AIRLOCK_HOME: path.join(dir, 'home') } });
    expect(result.code).toBe(0);
    const events = result.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ v: 1, seq: 1, kind: 'task.created', actor: 'airlock', agent: { name: 'demo' } });
    expect(events.at(-1)).toMatchObject({ kind: 'task.destroyed' });
    expect(new Set(events.map((e) => e.task)).size).toBe(1);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.kind === 'fs.output').map((e) => path.basename(e.data.file)).sort()).toEqual(['findings.json', 'report.md']);
  });
});

describe('airlock doctor', () => {
  it('reports the engine, its API version, the keychain and the image', async () => {
    const result = await runCli(['doctor', '--json'], { env: { AIRLOCK_HOME: path.join(tempDir(), 'home') } });
    const report = JSON.parse(result.stdout);
    expect(report.engine).toMatchObject({ ok: true });
    expect(report.engine.apiVersion).toMatch(/^1\.\d+$/);
    expect(report.keychain).toMatchObject({ ok: true });
    expect(report.images).toEqual([expect.objectContaining({ ref: 'airlock/agent-base:1', present: true })]);
    expect(result.code).toBe(0);
  });

  it('says plainly what is missing and how to fix it', async () => {
    const dir = tempDir();
    const result = await runCli(['doctor'], { env: { AIRLOCK_HOME: path.join(dir, 'home'), DOCKER_HOST: `unix://${dir}/none.sock` } });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/MISSING engine +cannot reach the Docker engine at unix:\/\/.*none\.sock/);
    expect(result.stdout).toMatch(/fix: +start Docker/);
    expect(result.stdout).toMatch(/not ready: fix the items marked MISSING/);
  });
});
