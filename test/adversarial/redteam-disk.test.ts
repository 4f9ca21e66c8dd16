/**
 * Red team: `resources.disk`. The workspace is a size-limited tmpfs and the root is read-only, but
 * an image may declare a VOLUME: the engine then gives the sandbox an anonymous volume on the
 * host's disk, outside the limit, and Airlock's teardown (remove without `v`) leaves it behind.
 * A hostile agent in a real sandbox writes past its disk limit there. Expected: writing past the
 * limit fails inside the sandbox (or the image is refused, naming its VOLUME), and nothing of the
 * task is left on the host. Fails on issue 12's code.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, lines, specFrom } from '../helpers/env.js';

const IMAGE = 'airlock-redteam/volume:1';

beforeAll(() => {
  // An ordinary-looking image built from the base image on this machine (nothing is downloaded):
  // it declares a writable VOLUME, as many published images do (`VOLUME /tmp`, `/data`, `/cache`).
  const dir = fs.mkdtempSync('/tmp/airlock-redteam-image-');
  fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM airlock/agent-base:1\nUSER root\nRUN mkdir /cache && chmod 1777 /cache\nVOLUME /cache\nUSER 10001:10001\n');
  execFileSync('docker', ['build', '-q', '-t', IMAGE, dir], { stdio: 'ignore' });
  fs.rmSync(dir, { recursive: true, force: true });
}, 120_000);

afterAll(() => {
  execFileSync('docker', ['rmi', '-f', IMAGE], { stdio: 'ignore' });
});

describe('red team: the disk limit', () => {
  it('holds for a VOLUME the image declares, and nothing of the task is left on the host', async () => {
    const { root, events, runner, engine } = harness();
    const volumesBefore = new Set(((await engine.api.listVolumes()).Volumes ?? []).map((v) => v.Name));
    const script = 'dd if=/dev/zero of=/cache/fill bs=1M count=96 2>&1 | tail -1; du -sm /cache | cut -f1 | sed "s/^/cache MiB /"';
    const outcome = await runner.run(specFrom(root, `name: volume-filler\nimage: ${IMAGE}\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\nresources: { disk: 32m }\n`));
    expect(outcome.status).toBe('exited');
    const written = Number(/cache MiB (\d+)/.exec(lines(events).join('\n'))?.[1] ?? 0);
    const left = ((await engine.api.listVolumes()).Volumes ?? []).map((v) => v.Name).filter((name) => !volumesBefore.has(name));
    for (const name of left) await engine.api.getVolume(name).remove({ force: true }).catch(() => undefined); // tidy this machine whatever the verdict
    // At most the task's 32 MiB, wherever the agent writes.
    expect.soft(written).toBeLessThanOrEqual(32);
    // Nothing left behind: no volume that was not there before the task.
    expect(left).toEqual([]);
  }, 120_000);
});
