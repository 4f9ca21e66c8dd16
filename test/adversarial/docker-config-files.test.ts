/**
 * The docker config folder is read when an engine starts: a FIFO where config.json, meta.json or
 * ca.pem should be would block that start for good (open and read wait for a writer), and
 * /dev/zero would fill its memory. Resolved in a child process with a deadline, so a hang is a
 * failure here rather than a stuck test run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerConfig } from '../helpers/docker-config.js';
import { REPO, tempDir } from '../helpers/env.js';

const RESOLVE = `
import { resolveEngineEndpoint } from './main/core/engine/connection.ts';
try {
  const endpoint = resolveEngineEndpoint(process.env, { platform: 'linux', exists: () => false });
  console.log('resolved: ' + endpoint.description);
} catch (error) {
  console.log('refused: ' + error.message);
}
`;

/** What resolving the engine says within 20 s, or `hung`. */
function resolveIn(env: NodeJS.ProcessEnv): string {
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', RESOLVE], { cwd: REPO, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, encoding: 'utf8', timeout: 20_000, maxBuffer: 1024 * 1024 });
  return result.error ? 'hung' : result.stdout.trim();
}

describe('the docker config folder holding what is not a file', () => {
  it('a FIFO or /dev/zero as config.json, meta.json or ca.pem is one line, never a hang', { timeout: 120_000 }, () => {
    const fifoConfig = dockerConfig({});
    execFileSync('mkfifo', [path.join(fifoConfig, 'config.json')]);
    expect(resolveIn({ DOCKER_CONFIG: fifoConfig })).toMatch(/^refused: .*config\.json is not a regular file$/);

    const zeroConfig = dockerConfig({});
    fs.symlinkSync('/dev/zero', path.join(zeroConfig, 'config.json'));
    expect(resolveIn({ DOCKER_CONFIG: zeroConfig })).toMatch(/^refused: .*config\.json is not a regular file$/);

    const fifoMeta = dockerConfig({ lab: { host: 'tcp://lab.test:2376' } }, 'lab');
    const meta = fs.readdirSync(path.join(fifoMeta, 'contexts', 'meta'))[0]!;
    fs.rmSync(path.join(fifoMeta, 'contexts', 'meta', meta, 'meta.json'));
    execFileSync('mkfifo', [path.join(fifoMeta, 'contexts', 'meta', meta, 'meta.json')]);
    expect(resolveIn({ DOCKER_CONFIG: fifoMeta })).toMatch(/^refused: .*meta\.json is not a regular file$/);

    const certs = tempDir();
    for (const name of ['cert', 'key']) fs.writeFileSync(path.join(certs, `${name}.pem`), `${name}-pem`);
    execFileSync('mkfifo', [path.join(certs, 'ca.pem')]);
    expect(resolveIn({ DOCKER_CONFIG: dockerConfig({}), DOCKER_HOST: 'tcp://box.test:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs })).toMatch(/^refused: .*ca\.pem is not a regular file$/);
  });
});
