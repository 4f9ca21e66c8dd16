import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../main/core/clock.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { learnedAllowlist } from '../../main/core/tasks/learn.js';
import { resolveTaskSpec } from '../../main/core/tasks/spec.js';
import { loadManifestFile } from '../../main/core/policy/manifest.js';
import { applyLearnedAllowlist } from '../../main/cli/ask.js';
import { harness, lines, REPO, specFrom } from '../helpers/env.js';
import { startRemotes } from '../helpers/remotes.js';

let remotes: Awaited<ReturnType<typeof startRemotes>>;
beforeAll(async () => {
  remotes = await startRemotes();
});
afterAll(async () => {
  await remotes.close();
});

/** A harness whose runner has a gateway that reaches the pretend remote hosts. */
function networked() {
  const h = harness();
  const gateway = new Gateway({ bus: h.bus, clock: systemClock, resolve: remotes.resolve, dial: remotes.dial, approvalTimeoutMs: 2000 });
  const runner = new TaskRunner({ engine: h.engine, bus: h.bus, clock: systemClock, home: h.home, gateway, assetsDir: path.join(REPO, 'assets') });
  const data = path.join(h.root, 'data');
  fs.mkdirSync(data);
  fs.copyFileSync(remotes.cert, path.join(data, 'ca.pem'));
  return { ...h, gateway, runner };
}

const INPUTS = 'inputs: [{ from: ./data, to: /workspace/in }]\n';

describe('restricted networks', () => {
  it('an allowed host works over HTTP and HTTPS (CONNECT) with curl; others get the explaining 403', async () => {
    const { root, events, runner } = networked();
    const outcome = await runner.run(specFrom(root, `
name: curler
command: ["sh", "-c", "curl -sS http://api.vendor.test/plain; curl -sS --cacert /workspace/in/ca.pem https://api.vendor.test/secure; curl -s http://other.test/nope; curl -sS --cacert /workspace/in/ca.pem https://other.test/nope 2>&1 | head -1; echo done"]
${INPUTS}network: { mode: allowlist, allow: [api.vendor.test] }
`));
    expect(outcome.exitCode).toBe(0);
    const out = lines(events);
    expect(out.slice(0, 2)).toEqual(['hello from api.vendor.test/plain (GET)', 'hello from api.vendor.test/secure (GET)']);
    expect(out).toContain('Airlock refused other.test:80: other.test:80 is not in this task\'s allowlist.');
    expect(out.some((l) => /CONNECT tunnel failed, response 403/.test(l))).toBe(true);
    const requests = events.filter((e) => e.kind === 'net.request').map((e) => [e.data.method, e.data.host, e.data.port, e.data.status, e.decision?.rule]);
    expect(requests).toEqual([
      ['GET', 'api.vendor.test', 80, 200, 'allow:api.vendor.test'],
      ['CONNECT', 'api.vendor.test', 443, 200, 'allow:api.vendor.test'],
      ['GET', 'other.test', 80, 403, 'allowlist'],
      ['CONNECT', 'other.test', 443, 403, 'allowlist'],
    ]);
    expect(events.filter((e) => e.kind === 'net.denied')).toHaveLength(2);
    expect(events.at(-1)).toMatchObject({ kind: 'task.destroyed', data: { removed: { containers: 2, volumes: 1 } } });
  });

  it('the sidecar is hardened like an agent (as another user), and the agent joins its loopback-only namespaces', async () => {
    const { root, events, runner, engine } = networked();
    const controller = new AbortController();
    const running = runner.run(specFrom(root, 'name: sleeper\ncommand: ["sh", "-c", "echo up; sleep 60"]\nnetwork: { mode: open }\n'), { signal: controller.signal });
    await new Promise<void>((resolve) => {
      const check = setInterval(() => lines(events).includes('up') && (clearInterval(check), resolve()), 50);
    });
    const [objects] = (await listTaskObjects(engine)).filter((t) => t.task === events[0]!.task);
    const inspected = await Promise.all(objects!.containers.map((c) => engine.api.getContainer(c.id).inspect()));
    const sidecarInfo = inspected.find((i) => i.Config.Labels['airlock.role'] === 'sidecar')!;
    const agentInfo = inspected.find((i) => i.Config.Labels['airlock.role'] === undefined)!;
    for (const info of [sidecarInfo, agentInfo]) {
      expect(info.HostConfig).toMatchObject({ CapDrop: ['ALL'], ReadonlyRootfs: true, Privileged: false });
      expect(info.HostConfig.SecurityOpt).toContain('no-new-privileges:true');
      expect(info.Config.Labels['airlock.task']).toBe(objects!.task);
    }
    expect(agentInfo.Config.User).toBe('10001:10001');
    expect(sidecarInfo.Config.User).toBe('10002:10002');
    expect(sidecarInfo.HostConfig.NetworkMode).toBe('none');
    expect(agentInfo.HostConfig.NetworkMode).toBe(`container:${sidecarInfo.Id}`);
    expect(agentInfo.HostConfig.PidMode).toBe(`container:${sidecarInfo.Id}`);
    controller.abort();
    expect((await running).status).toBe('cancelled');
    expect((await listTaskObjects(engine)).find((t) => t.task === objects!.task)).toBeUndefined();
  });

  it('Node\'s own fetch works through the gateway (NODE_USE_ENV_PROXY), for http and https', async () => {
    const { root, events, runner } = networked();
    const outcome = await runner.run(specFrom(root, `
name: noder
command: ["sh", "-c", "NODE_EXTRA_CA_CERTS=/workspace/in/ca.pem node -e \\"Promise.all(['http://api.vendor.test/n1','https://api.vendor.test/n2'].map(u => fetch(u).then(r => r.text()))).then(t => process.stdout.write(t.join('')))\\""]
${INPUTS}network: { mode: allowlist, allow: [api.vendor.test] }
`));
    expect(lines(events, 'proc.stderr')).toEqual([]);
    expect(outcome.exitCode).toBe(0);
    expect(lines(events)).toEqual(['hello from api.vendor.test/n1 (GET)', 'hello from api.vendor.test/n2 (GET)']);
  });

  it('names that resolve to loopback, private or metadata addresses are refused from inside', async () => {
    const { root, events, runner } = networked();
    await runner.run(specFrom(root, `
name: sneaky
command: ["sh", "-c", "for h in sneaky-loopback.test sneaky-metadata.test sneaky-v6-loopback.test; do curl -s -o /dev/null -w '%{http_code}\\\\n' http://$h/; done"]
network: { mode: allowlist, allow: [sneaky-loopback.test, sneaky-metadata.test, sneaky-v6-loopback.test] }
`));
    expect(lines(events)).toEqual(['403', '403', '403']);
    expect(events.filter((e) => e.kind === 'net.denied').map((e) => e.decision?.rule)).toEqual(['address:not-public', 'address:not-public', 'address:not-public']);
  });

  it('the host, other networks, other tasks and UDP are unreachable; a client ignoring the proxy reaches nothing', async () => {
    const { root, events, runner, engine } = networked();
    // A listener on every host address, a UDP listener, and a container on a network of the test's own.
    const tcp = net.createServer((s) => s.end('reached the host\n'));
    await new Promise<void>((r) => tcp.listen(0, '0.0.0.0', () => r()));
    const tcpPort = (tcp.address() as net.AddressInfo).port;
    const udp = dgram.createSocket('udp4');
    const udpSeen: string[] = [];
    udp.on('message', (m) => udpSeen.push(m.toString()));
    await new Promise<void>((r) => udp.bind(0, '0.0.0.0', () => r()));
    const udpPort = udp.address().port;
    const netName = `airlock-test-other-${process.pid}`;
    const other = await engine.api.createNetwork({ Name: netName, Labels: { 'airlock.test': '1' } });
    const peer = await engine.api.createContainer({ Image: 'airlock/agent-base:1', Cmd: ['python3', '-m', 'http.server', '8000'], User: '10001', Labels: { 'airlock.test': '1' }, HostConfig: { NetworkMode: netName } });
    try {
      await peer.start();
      const peerIp = (await peer.inspect()).NetworkSettings.Networks[netName]!.IPAddress;
      const hostAddresses = Object.values(os.networkInterfaces()).flat().filter((a) => a && a.family === 'IPv4').map((a) => a!.address);
      expect(hostAddresses).toContain('127.0.0.1');
      const targets = [...hostAddresses.map((a) => `${a}:${tcpPort}`), `${peerIp}:8000`, `host.docker.internal:${tcpPort}`];
      const tries = targets.map((t) => `curl -s --noproxy '*' --max-time 2 http://${t}/ && echo REACHED ${t}`).join('; ');
      const udpSends = hostAddresses.map((a) => `python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'leak', ('${a}', ${udpPort}))" 2>/dev/null`).join('; ');
      await runner.run(specFrom(root, `
name: prober
command: ["sh", "-c", ${JSON.stringify(`${tries}; ${udpSends}; curl -s --noproxy '*' --max-time 2 http://api.vendor.test/ && echo REACHED-DIRECT; echo probed`)}]
network: { mode: open }
`));
      await new Promise((r) => setTimeout(r, 500));
      const out = lines(events);
      expect(out.filter((l) => l.includes('REACHED') || l.includes('reached the host'))).toEqual([]);
      expect(out).toContain('probed');
      expect(udpSeen).toEqual([]);
    } finally {
      tcp.close();
      udp.close();
      await peer.remove({ force: true });
      await other.remove();
    }
  });

  it('one task cannot reach a server in another task\'s sandbox', async () => {
    const a = networked();
    const b = networked();
    const controller = new AbortController();
    const serving = a.runner.run(specFrom(a.root, 'name: server\ncommand: ["sh", "-c", "echo up; python3 -m http.server 8080 --bind 0.0.0.0"]\nnetwork: { mode: open }\n'), { signal: controller.signal });
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (lines(a.events).includes('up')) {
          clearInterval(check);
          resolve();
        }
      }, 50);
    });
    await new Promise((r) => setTimeout(r, 500));
    await b.runner.run(specFrom(b.root, 'name: client\ncommand: ["sh", "-c", "curl -s --noproxy \'*\' --max-time 2 http://127.0.0.1:8080/ && echo REACHED; echo tried"]\nnetwork: { mode: open }\n'));
    controller.abort();
    await serving;
    expect(lines(b.events)).toEqual(['tried']);
  });

  it('learn mode: the allowlist learned from an open run, applied, lets the same run pass with unknown hosts denied', async () => {
    const { root, events, runner } = networked();
    const script = 'curl -s -o /dev/null -w "%{http_code} " http://api.vendor.test/a; curl -s -o /dev/null -w "%{http_code} " --cacert /workspace/in/ca.pem https://files.vendor.test/b; echo';
    const yaml = `name: learner\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\n${INPUTS}network: { mode: none }\n`;
    const learning = await runner.run(specFrom(root, yaml, { network: { mode: 'open' } }));
    expect(learning.exitCode).toBe(0);
    const learned = learnedAllowlist(events, learning.task);
    expect(learned.allow).toEqual(['api.vendor.test', 'files.vendor.test']);

    await applyLearnedAllowlist(path.join(root, 'agent.yaml'), learned.allow);
    const applied = loadManifestFile(path.join(root, 'agent.yaml'));
    expect(applied.manifest.network).toMatchObject({ mode: 'allowlist', allow: ['api.vendor.test', 'files.vendor.test'], onUnknownHost: 'deny' });
    events.length = 0;
    const again = await runner.run(resolveTaskSpec(applied, {}, root));
    expect(again.exitCode).toBe(0);
    expect(lines(events)).toEqual(['200 200 ']);
    expect(events.filter((e) => e.kind === 'net.denied')).toEqual([]);
  });
});
