import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { harness, lines, specFrom, waitFor } from '../helpers/env.js';

// Every sandbox default from DESIGN.md, checked from outside (the engine's view of the container)
// and from inside (what the agent's own process sees).

const PROBE = `
name: probe
command: ["sh", "-c", "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; echo uid=$(id -u); (echo x > /rootfs-write) 2>/dev/null && echo root-writable || echo root-read-only; (echo x > /tmp/t) && echo tmp-writable; ip link 2>/dev/null || cat /proc/net/dev | tail -n +3 | cut -d: -f1; getent hosts localhost >/dev/null && echo localhost-resolves; echo ready; sleep 60"]
resources: { cpus: 0.5, memory: 96m, pids: 64 }
timeout: 2m
`;

describe('sandbox hardening', () => {
  it('applies every default, as the engine reports it and as the agent sees it', async () => {
    const { root, events, engine, runner } = harness();
    const controller = new AbortController();
    const running = runner.run(specFrom(root, PROBE), { signal: controller.signal });

    await waitFor(async () => (lines(events).includes('ready') ? true : undefined), 'the probe to report');
    const [objects] = (await listTaskObjects(engine)).filter((t) => t.task === events[0]!.task);
    expect(objects).toBeDefined();
    const inspected = await Promise.all(objects!.containers.map((c) => engine.api.getContainer(c.id).inspect()));
    const info = inspected.find((i) => i.Config.Labels['airlock.role'] === undefined)!;
    const sidecar = inspected.find((i) => i.Config.Labels['airlock.role'] === 'sidecar')!;
    const host = info.HostConfig;
    expect(host.CapDrop).toEqual(['ALL']);
    expect(host.CapAdd ?? []).toEqual([]);
    expect(host.SecurityOpt).toContain('no-new-privileges:true');
    expect(host.ReadonlyRootfs).toBe(true);
    expect(Object.keys(host.Tmpfs ?? {})).toContain('/tmp');
    expect(host.Privileged).toBe(false);
    expect(host.PidsLimit).toBe(64);
    expect(host.Memory).toBe(96 * 1024 ** 2);
    expect(host.MemorySwap).toBe(host.Memory);
    expect(host.NanoCpus).toBe(0.5e9);
    // The agent lives in its sidecar's namespaces: loopback-only network, and a PID 1 (the
    // sidecar's init) whose exit ends every process of the task.
    expect(host.NetworkMode).toBe(`container:${sidecar.Id}`);
    expect(host.PidMode).toBe(`container:${sidecar.Id}`);
    expect(host.IpcMode).toBe('private');
    expect(host.UsernsMode).toBe('');
    expect(host.Devices ?? []).toEqual([]);
    expect(host.Binds ?? []).toEqual([]);
    expect(info.Config.User).toBe('10001:10001');
    expect(info.Config.Labels['airlock.task']).toBe(objects!.task);
    expect(info.Config.Labels['airlock.agent']).toBe('probe');
    expect(info.Mounts.every((m) => m.Type === 'volume' || m.Type === 'tmpfs')).toBe(true);
    const volume = await engine.api.getVolume(objects!.volumes[0]!).inspect();
    expect(volume.Labels['airlock.task']).toBe(objects!.task);
    // The workspace is a tmpfs of resources.disk (default 1g): writing past it fails inside.
    expect(volume.Options).toMatchObject({ type: 'tmpfs', device: 'tmpfs' });
    expect(volume.Options!.o).toContain(`size=${1024 ** 3}`);

    // The sidecar: as hardened as the agent, another user, no network, gone by itself when it exits.
    const side = sidecar.HostConfig;
    expect(sidecar.Config.User).toBe('10002:10002');
    expect(side.CapDrop).toEqual(['ALL']);
    expect(side.SecurityOpt).toContain('no-new-privileges:true');
    expect(side.ReadonlyRootfs).toBe(true);
    expect(side.Privileged).toBe(false);
    expect(side.Init).toBe(true);
    expect(side.NetworkMode).toBe('none');
    expect(side.AutoRemove).toBe(true);
    expect(sidecar.Config.StdinOnce).toBe(true);
    expect(sidecar.Mounts.find((m) => m.Destination === '/workspace')?.RW).toBe(false);

    const seen = lines(events);
    expect(seen).toContain('CapEff:\t0000000000000000');
    expect(seen).toContain('NoNewPrivs:\t1');
    expect(seen).toContain('Seccomp:\t2');
    expect(seen).toContain('uid=10001');
    expect(seen).toContain('root-read-only');
    expect(seen).toContain('tmp-writable');
    expect(seen).toContain('localhost-resolves');
    // network none: loopback only
    const interfaces = seen.filter((l) => /^\s*(lo|eth\d|[a-z]+\d+)\s*$/.test(l)).map((l) => l.trim());
    expect(interfaces).toEqual(['lo']);

    controller.abort();
    const outcome = await running;
    expect(outcome.status).toBe('cancelled');
    expect((await listTaskObjects(engine)).find((t) => t.task === outcome.task)).toBeUndefined();
  });

  it('a fork bomb hits the pids limit, and the host keeps working', async () => {
    // The bomb runs in a subshell: the main shell forks only once, before the limit is reached,
    // then spins without forking, so the task always runs into its timeout.
    const { root, events, runner } = harness();
    const spec = specFrom(root, `
name: forkbomb
command: ["sh", "-c", "(bomb() { bomb | bomb & }; bomb); while :; do :; done"]
resources: { pids: 32 }
timeout: 6s
`);
    const outcome = await runner.run(spec);
    expect(outcome.status).toBe('timeout');
    expect(lines(events, 'proc.stderr').some((l) => /fork|Resource temporarily unavailable/i.test(l))).toBe(true);
    expect(spawnSync('true').status).toBe(0);
  });

  it('memory over the limit is OOM-killed and reported as such', async () => {
    const { root, events, runner } = harness();
    const spec = specFrom(root, `
name: hog
command: ["python3", "-c", "a = []\\nwhile True: a.append(bytearray(8 * 1024 * 1024))"]
resources: { memory: 64m }
timeout: 1m
`);
    const outcome = await runner.run(spec);
    expect(outcome.status).toBe('exited');
    expect(outcome.oomKilled).toBe(true);
    expect(outcome.exitCode).toBe(137);
    const exited = events.find((e) => e.kind === 'task.exited');
    expect(exited?.data).toMatchObject({ oomKilled: true, exitCode: 137, memoryBytes: 64 * 1024 ** 2 });
  });
});
