/**
 * The engine killed (SIGKILL) while a batch is at the collector and unanswered (issue 19's red
 * team): after the restart, the collector holds every record, and every copy after the first is
 * marked redelivery — nothing twice unmarked, nothing lost.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keychainHeadSigner } from '../../main/core/audit/head.js';
import { AuditStore } from '../../main/core/audit/store.js';
import { checkForwarder, forwardersFile } from '../../main/core/forward/config.js';
import { Forwarding } from '../../main/core/forward/forwarding.js';
import { transportFactory } from '../../main/core/forward/transports.js';
import { event } from '../helpers/audit.js';
import { REPO, removeTempDirs, tempDir } from '../helpers/env.js';
import { loopbackLookup } from '../helpers/forward-collector.js';
import { MemorySecrets } from '../helpers/memory-secrets.js';
import { makeTestCa } from '../helpers/test-ca.js';

let child: ChildProcess | undefined;
let server: https.Server | undefined;
afterEach(async () => {
  child?.kill('SIGKILL');
  child = undefined;
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  }
  removeTempDirs();
});

describe('an engine killed mid-send', () => {
  it('the batch goes again after the restart, every copy after the first marked redelivery', { timeout: 60_000 }, async () => {
    const home = tempDir('airlock-fwd-kill-');
    const keychain = new MemorySecrets();
    const signer = keychainHeadSigner(keychain);
    const store = new AuditStore({ dir: path.join(home, 'audit'), signer });
    for (let i = 0; i < 40; i++) store.append(event());
    await store.flush();
    await store.close();
    const keychainFile = path.join(home, 'keychain.json');
    fs.writeFileSync(keychainFile, JSON.stringify(Object.fromEntries(keychain.values)));

    const ca = makeTestCa('Forward Kill CA');
    const leaf = ca.leaf(['collector.test']);
    const bodies: string[] = [];
    let answer = false;
    let arrived!: () => void;
    const firstArrived = new Promise<void>((resolve) => (arrived = resolve));
    server = https.createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString());
        arrived();
        if (answer) res.writeHead(200).end(); // until then: read, never answered
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `https://collector.test:${(server.address() as AddressInfo).port}/in`;
    forwardersFile(home).update(() => [checkForwarder({ name: 'siem', kind: 'webhook', url, caFile: ca.file })]);

    child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'test/adversarial/forward-kill-child.ts'), home, keychainFile], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
    await firstArrived;
    child.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
    child = undefined;

    answer = true;
    const forwarding = new Forwarding({ home, auditDir: path.join(home, 'audit'), key: () => signer, keychain, transports: transportFactory({ lookup: loopbackLookup }), version: 'test' });
    forwarding.start();
    try {
      await forwarding.flush(30_000);
    } finally {
      await forwarding.close();
    }

    const items = bodies.flatMap((body) => body.trim().split('\n').map((line) => JSON.parse(line) as { airlock: string; redelivery?: boolean; record?: { n: number } }));
    const records = items.filter((i) => i.airlock === 'record').map((i) => ({ n: i.record!.n, redelivery: i.redelivery }));
    const seen = new Set<number>();
    for (const { n, redelivery } of records) {
      expect(redelivery, `record ${n}`).toBe(seen.has(n));
      seen.add(n);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(records.length).toBeGreaterThan(40); // the killed batch did arrive once, unanswered
  });
});
