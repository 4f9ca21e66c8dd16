/**
 * The built `airlock` as a user runs it: a bad forwarder flag or an empty secret is refused in one
 * line with the fix (exit 125, like every bad flag), before any engine is started; `audit verify
 * --from-export` checks a file in the CLI's own process and starts no engine either.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/env.js';

describe('airlock audit forward and verify --from-export', () => {
  it('refuses bad usage in one line with the fix, and starts no engine', async () => {
    const dir = tempDir();
    const env = { AIRLOCK_HOME: path.join(dir, 'home') };
    const http = await runCli(['audit', 'forward', 'add', 'siem', '--otlp', 'http://collector.test:4318/v1/logs'], { env });
    expect([http.code, http.stderr]).toEqual([125, 'airlock: --otlp: plain http:// would send the audit trail in clear\n  fix: use https:// (--otlp https://collector.test:4318/v1/logs)\n']);
    const duration = await runCli(['audit', 'forward', 'flush', '--timeout', 'forever'], { env });
    expect([duration.code, duration.stderr.split('\n')[0]]).toEqual([125, "airlock: --timeout: 'forever' is not a duration up to 10m"]);
    const missing = await runCli(['audit', 'verify', '--from-export', 'nope.jsonl'], { env, cwd: dir });
    expect([missing.code, missing.stderr.split('\n')[0]]).toEqual([125, `airlock: --from-export: nope.jsonl does not exist`]);
    expect(fs.existsSync(env.AIRLOCK_HOME)).toBe(false);
  });

  it('verify --from-export reads the file where the command runs, without an engine', async () => {
    const dir = tempDir();
    const env = { AIRLOCK_HOME: path.join(dir, 'home') };
    fs.writeFileSync(path.join(dir, 'stream.jsonl'), '{"airlock":"record"}\n');
    const checked = await runCli(['audit', 'verify', '--from-export', 'stream.jsonl'], { env, cwd: dir });
    expect([0, 1]).toContain(checked.code);
    expect(checked.stdout).not.toBe('');
    expect(fs.existsSync(env.AIRLOCK_HOME)).toBe(false);
  });
});
