import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunOverrides } from '../../main/core/tasks/spec.js';
import { specFrom, tempDir } from '../helpers/env.js';

describe('resolving a run', () => {
  it('applies the sandbox defaults and the command-line overrides', () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'data'));
    const spec = specFrom(dir, 'name: x\ncommand: [sh]\nresources: { memory: 256m }\n', { cpus: 0.5, timeoutMs: 30_000, env: [{ name: 'A', value: '1' }, { name: 'B', value: 'x=y' }], inputs: [{ hostPath: './data' }], outputDir: 'out' });
    expect(spec.limits).toEqual({ cpus: 0.5, memoryBytes: 256 * 1024 ** 2, pids: 256, diskBytes: 1024 ** 3 });
    expect(specFrom(dir, 'name: x\ncommand: [sh]\nresources: { disk: 2g }\n').limits.diskBytes).toBe(2 * 1024 ** 3);
    expect(() => specFrom(dir, 'name: x\ncommand: [sh]\nresources: { disk: 1m }\n')).toThrow(/resources.disk: must be between 16m and 64g/);
    expect(() => specFrom(dir, 'name: x\ncommand: [sh]\nresources: { disk: lots }\n')).toThrow(/resources.disk: must be a size/);
    expect(() => specFrom(dir, 'name: x\ncommand: [sh]\nenv: { LD_PRELOAD: /workspace/x.so }\n')).toThrow(/env LD_PRELOAD: is set by Airlock/);
    expect(spec.timeoutMs).toBe(30_000);
    expect(spec.env).toEqual({ A: '1', B: 'x=y' });
    expect(spec.inputs).toEqual([{ from: path.join(dir, 'data'), to: '/workspace/in/data' }]);
    expect(spec.outputDir).toBe(path.join(dir, 'out'));
  });

  it('gives a display task the desktop image, a screen, more room and a screenshot policy; bad values name the field', () => {
    const dir = tempDir();
    const plain = specFrom(dir, 'name: x\ncommand: [sh]\n');
    expect(plain.image).toBe('airlock/agent-base:1');
    expect(plain.display).toBeUndefined();
    const desktop = specFrom(dir, 'name: x\ncommand: [sh]\ndisplay: { width: 1280, height: 800 }\n');
    expect(desktop.image).toBe('airlock/agent-desktop:1');
    expect(desktop.display).toEqual({ width: 1280, height: 800, screenshotEveryMs: 5_000 });
    expect(desktop.limits).toEqual({ cpus: 2, memoryBytes: 2 * 1024 ** 3, pids: 1024, diskBytes: 1024 ** 3 });
    expect(specFrom(dir, 'name: x\ncommand: [sh]\ndisplay: { width: 1024, height: 768, screenshotEvery: 0s }\nresources: { memory: 1g }\n', { cpus: 1 }))
      .toMatchObject({ display: { screenshotEveryMs: 0 }, limits: { cpus: 1, memoryBytes: 1024 ** 3, pids: 1024 } });
    expect(specFrom(dir, 'name: x\ncommand: [sh]\nimage: my/desktop:2\ndisplay: { width: 800, height: 600 }\n').image).toBe('my/desktop:2');
    expect(() => specFrom(dir, 'name: x\ncommand: [sh]\ndisplay: { width: 1280, height: 800, screenshotEvery: 200ms }\n')).toThrow(/display.screenshotEvery: must be at least 1s/);
    expect(() => specFrom(dir, 'name: x\ncommand: [sh]\ndisplay: { width: 100, height: 800 }\n')).toThrow(/display.width.*at least 320/);
    expect(() => specFrom(dir, 'name: x\ncommand: [sh]\ndisplay: { width: 1280, height: 800, vnc: true }\n')).toThrow(/vnc/);
  });

  it('takes the network from the manifest, or from --net for one run, marking a widening', () => {
    const dir = tempDir();
    const manifest = 'name: x\ncommand: [sh]\nnetwork: { mode: allowlist, allow: [api.vendor.test], local: ["127.0.0.1:8080"], onUnknownHost: ask, rate: { requestsPerMinute: 60, bytes: 1m } }\n';
    expect(specFrom(dir, manifest).network).toEqual({ mode: 'allowlist', allow: ['api.vendor.test'], local: ['127.0.0.1:8080'], onUnknownHost: 'ask', askTimeoutMs: 60_000, rate: { requestsPerMinute: 60, bytes: 1024 ** 2 }, source: 'manifest', widened: false });
    expect(specFrom(dir, manifest, { network: { mode: 'none' } }).network).toEqual({ mode: 'none', source: '--net', widened: false });
    expect(specFrom(dir, manifest, { network: { mode: 'allowlist', allow: ['api.vendor.test'] } }).network).toMatchObject({ mode: 'allowlist', allow: ['api.vendor.test'], widened: false });
    expect(specFrom(dir, manifest, { network: { mode: 'allowlist', allow: ['api.vendor.test', '*.cdn.test'] } }).network).toMatchObject({ allow: ['api.vendor.test', '*.cdn.test'], widened: true, local: ['127.0.0.1:8080'] });
    expect(specFrom(dir, manifest, { network: { mode: 'open' } }).network).toMatchObject({ mode: 'open', widened: true });
    expect(specFrom(dir, 'name: x\ncommand: [sh]\n', { network: { mode: 'allowlist', allow: ['api.vendor.test'] } }).network).toMatchObject({ mode: 'allowlist', widened: true });
  });

  it('lends the manifest\'s credentials, with --cred setting a TTL or adding one in <NAME>_TOKEN', () => {
    const dir = tempDir();
    const manifest = 'name: x\ncommand: [sh]\ncredentials: [{ name: vendor-api, ttl: 5m, env: VENDOR_TOKEN, methods: [GET], uses: 3 }, { name: db, delivery: env, env: DB_PASSWORD }]\n';
    expect(specFrom(dir, manifest).credentials).toEqual([
      { credential: 'vendor-api', ttlMs: 300_000, delivery: 'proxy', env: 'VENDOR_TOKEN', methods: ['GET'], uses: 3 },
      { credential: 'db', ttlMs: undefined, delivery: 'env', env: 'DB_PASSWORD' },
    ]);
    expect(specFrom(dir, manifest, { creds: [{ name: 'vendor-api', ttlMs: 60_000 }, { name: 'files-api' }] }).credentials.map((c) => [c.credential, c.ttlMs, c.env])).toEqual([
      ['vendor-api', 60_000, 'VENDOR_TOKEN'], ['db', undefined, 'DB_PASSWORD'], ['files-api', undefined, 'FILES_API_TOKEN'],
    ]);
  });

  it('defaults to a 10 minute timeout', () => {
    expect(specFrom(tempDir(), 'name: x\ncommand: [sh]\n').timeoutMs).toBe(600_000);
  });

  it.each([
    ['an allowlist that allows nothing', 'network: { mode: allowlist }', {}, /network\.allow: is empty/],
    ['a network allowlist without hosts', '', { network: { mode: 'allowlist', allow: [] } }, /--net: allow: needs at least one host/],
    ['a network allowlist with a bad host', '', { network: { mode: 'allowlist', allow: ['api.test', 'http://x'] } }, /--net: 'http:\/\/x' is not a host/],
    ['a credential name that is not one', '', { creds: [{ name: 'Vendor API' }] }, /--cred: 'Vendor API' is not a credential name/],
    ['a credential TTL that is not positive', '', { creds: [{ name: 'vendor-api', ttlMs: -1 }] }, /--cred vendor-api: -1 is not a positive number/],
    ['an input mapped outside the workspace with ..', '', { inputs: [{ hostPath: '.', containerPath: '/workspace/../etc' }] }, /to: \/etc is not inside the workspace/],
    ['an input mapped to a relative path', '', { inputs: [{ hostPath: '.', containerPath: 'in/x' }] }, /to: in\/x is not inside the workspace/],
    ['a cpus that is not finite', '', { cpus: Number.POSITIVE_INFINITY }, /--cpus: Infinity is not a positive number/],
    ['an environment name that is not one', '', { env: [{ name: 'A-B', value: '1' }] }, /env A-B: is not a variable name/],
    ['two credentials in one variable', 'credentials: [{ name: a, env: TOKEN }, { name: b, env: TOKEN }]', {}, /two credentials use the variable TOKEN/],
    ['an input outside the workspace', 'inputs: [{ from: ., to: /etc/in }]', {}, /inputs\[0\]: to: \/etc\/in is not inside the workspace/],
    ['an input that does not exist', 'inputs: [{ from: ./missing, to: /workspace/in }]', {}, /inputs\[0\]: from: .*missing does not exist/],
    ['an output inside an input', 'inputs: [{ from: ., to: /workspace/in }]\noutputs: [/workspace/in/out]', {}, /outputs\[0\]: \/workspace\/in\/out overlaps the read-only input/],
    ['a reserved variable', 'env: { HTTP_PROXY: "http://evil" }', {}, /env HTTP_PROXY: is set by Airlock/],
    ['a system folder as workdir', 'workdir: /etc', {}, /workdir: \/etc is a system folder/],
    ['a memory that is not positive', '', { memoryBytes: 0 }, /--memory: 0 is not a positive number/],
    ['a tiny memory', '', { memoryBytes: 1024 ** 2 }, /--memory: must be at least 8m/],
    ['a timeout that is not a number', '', { timeoutMs: Number.NaN }, /--timeout: NaN is not a positive number/],
  ] as [string, string, RunOverrides, RegExp][])('refuses %s, naming it', (_what, extra, overrides, message) => {
    expect(() => specFrom(tempDir(), `name: x\ncommand: [sh]\n${extra}\n`, overrides)).toThrow(message);
  });
});
