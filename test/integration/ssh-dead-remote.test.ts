/**
 * An ssh:// engine whose remote stops answering mid-stream (a dropped network, a frozen host): no
 * RST ever comes, so without ssh's keepalives the call on it (here the events stream) would wait
 * for good. A real sshd, frozen with SIGSTOP; the real ssh client with a 1 s keepalive.
 */
import fs from 'node:fs';
import path from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDockerHost } from '../../main/core/engine/docker-host.js';
import type { SshAgent } from '../../main/core/engine/ssh-dial.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

let sshd: Sshd;
let agent: SshAgent | undefined;
let frozen: number[] = [];
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  signal(frozen, 'SIGCONT');
  await agent?.close();
  await sshd?.stop();
});

describe('an ssh:// engine whose remote stops answering', () => {
  it('a call in flight ends within the keepalive bound instead of hanging', { timeout: 30_000 }, async () => {
    const target = parseDockerHost(sshd.url, 'DOCKER_HOST', undefined, { env: sshd.env(process.env), aliveIntervalSeconds: 1 });
    agent = target.options.agent as SshAgent;
    const docker = new Dockerode(target.options);
    expect(String(await docker.ping())).toBe('OK');
    const events = (await docker.getEvents()) as NodeJS.ReadableStream;
    const ended = new Promise<number>((resolve) => {
      const started = Date.now();
      events.once('end', () => resolve(Date.now() - started));
      events.once('error', () => resolve(Date.now() - started));
      events.on('data', () => undefined);
    });
    frozen = sessionsOf(sshd);
    expect(frozen.length).toBeGreaterThan(0);
    signal(frozen, 'SIGSTOP');
    expect(await ended).toBeLessThan(15_000);
  });
});

/** sshd's forked session processes (descendants of the listener that runs with this sshd's config). */
function sessionsOf(server: Sshd): number[] {
  const config = path.join(server.dir, 'sshd_config');
  const all = fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map(Number);
  const parentOf = new Map<number, number>();
  let listener: number | undefined;
  for (const pid of all) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      parentOf.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(config)) listener = pid; // sshd retitles itself: "sshd: /usr/sbin/sshd … -f <config> [listener] …"
    } catch {
      // gone meanwhile
    }
  }
  const below = (pid: number): boolean => {
    const parent = parentOf.get(pid);
    return parent === listener || (parent !== undefined && parent > 1 && below(parent));
  };
  return listener === undefined ? [] : all.filter((pid) => pid !== listener && below(pid));
}

function signal(pids: number[], name: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  }
}
