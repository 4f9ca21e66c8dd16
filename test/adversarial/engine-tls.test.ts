import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../main/core/engine/engine.js';
import { tempDir } from '../helpers/env.js';
import { makeTestCa } from '../helpers/test-ca.js';

/**
 * A TLS peer answering as an engine's /version would (the real TLS engine, a second dockerd, is
 * REMOTE's test): what is under test is Airlock's side of the handshake.
 */
const servers: https.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function tlsEngine(leaf: { cert: string; key: string }) {
  const seen: { path: string; client: string | undefined }[] = [];
  const server = https.createServer({ ...leaf, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    seen.push({ path: req.url ?? '', client: String((req.socket as TLSSocket).getPeerCertificate().subject?.CN) });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ Version: '99.0-tls', ApiVersion: '1.41', Os: 'linux', Arch: 'amd64' }));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, seen };
}

/** DOCKER_CERT_PATH as a user has it: the CA that signs the engine, and the user's client pair. */
function certPath(ca: string) {
  const dir = tempDir('airlock-certs-');
  const client = makeTestCa('client-ca').leaf(['ada.client.test']);
  fs.writeFileSync(path.join(dir, 'ca.pem'), ca);
  fs.writeFileSync(path.join(dir, 'cert.pem'), client.cert);
  fs.writeFileSync(path.join(dir, 'key.pem'), client.key);
  return dir;
}

describe('a tcp:// engine with DOCKER_TLS_VERIFY', () => {
  const engineCa = makeTestCa('engine-ca');
  const engineLeaf = engineCa.leaf(['localhost']);

  it('verifies the engine by the CA in DOCKER_CERT_PATH and shows it the client certificate, whatever docker-modem would read from process.env', async () => {
    const { port, seen } = await tlsEngine(engineLeaf);
    const saved = { DOCKER_HOST: process.env.DOCKER_HOST, DOCKER_CERT_PATH: process.env.DOCKER_CERT_PATH };
    // docker-modem fills unset options from process.env: an explicit endpoint must leave it nothing to read.
    process.env.DOCKER_HOST = 'tcp://localhost:1';
    process.env.DOCKER_CERT_PATH = '/nonexistent/airlock-certs';
    try {
      const engine = Engine.connect({ DOCKER_HOST: `tcp://localhost:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certPath(engineCa.pem) });
      expect((await engine.info()).version).toBe('99.0-tls');
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    expect(seen).toEqual([{ path: '/version', client: 'ada.client.test' }]);
  });

  it('refuses an engine whose certificate another CA signed, in one line, before any request is sent', async () => {
    const impostor = makeTestCa('impostor-ca').leaf(['localhost']);
    const { port, seen } = await tlsEngine(impostor);
    const engine = Engine.connect({ DOCKER_HOST: `tcp://localhost:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certPath(engineCa.pem) });
    await expect(engine.info()).rejects.toMatchObject({
      code: 'engine_unavailable',
      message: expect.stringMatching(/^cannot reach the Docker engine at tcp:\/\/localhost:\d+ \(DOCKER_HOST\): its TLS certificate is not one the CA you gave signed for that name \([A-Z_]+\); Airlock does not connect unverified$/),
      hint: expect.stringMatching(/ca\.pem/),
    });
    await expect(engine.call((api) => api.listContainers())).rejects.toMatchObject({ code: 'engine_unavailable' });
    expect(seen).toEqual([]);
  });

  it('refuses a certificate for another name, though the right CA signed it', async () => {
    const { port, seen } = await tlsEngine(engineCa.leaf(['elsewhere.test']));
    const engine = Engine.connect({ DOCKER_HOST: `tcp://localhost:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certPath(engineCa.pem) });
    await expect(engine.info()).rejects.toMatchObject({ message: expect.stringMatching(/ERR_TLS_CERT_ALTNAME_INVALID/) });
    expect(seen).toEqual([]);
  });
});
