/**
 * A hostile or broken collector on loopback over real TLS (issue 19's red team): what it answers
 * never puts the forwarder's secret (or a piece of it) in a reason, and a redirect is never
 * followed to another host.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transportFactory } from '../../main/core/forward/transports.js';
import type { ForwarderConfig, SendOutcome } from '../../main/core/forward/types.js';
import { Forwarding } from '../../main/core/forward/forwarding.js';
import { event } from '../helpers/audit.js';
import { removeTempDirs } from '../helpers/env.js';
import { fixedBatch } from '../helpers/forward-batch.js';
import { forwardingHome, until } from '../helpers/forward-pump.js';
import { forwarder, loopbackLookup } from '../helpers/forward-collector.js';
import { makeTestCa, type TestCa } from '../helpers/test-ca.js';

// Spaces are allowed in a secret (checkSecret refuses only controls): a reason folds runs of them.
const SECRET = 'tok  7Q2xZr9pLm4Vb8nKc';
type Handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;

let ca: TestCa;
let collector: https.Server;
let elsewhere: https.Server;
let handler: Handler;
const elsewhereGot: string[] = [];

async function listen(server: https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

let port: number;
let elsewherePort: number;

beforeAll(async () => {
  ca = makeTestCa('Forward Red CA');
  const leaf = ca.leaf(['collector.test', 'elsewhere.test']);
  collector = https.createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
    req.resume();
    req.on('end', () => handler(req, res));
  });
  elsewhere = https.createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
    elsewhereGot.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  port = await listen(collector);
  elsewherePort = await listen(elsewhere);
});

afterAll(async () => {
  removeTempDirs();
  for (const server of [collector, elsewhere]) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

function send(kind: ForwarderConfig['kind'] = 'otlp-http'): Promise<SendOutcome> {
  const transport = transportFactory({ lookup: loopbackLookup })(forwarder(kind, `https://collector.test:${port}/v1/logs`, { caFile: ca.file }), SECRET);
  return transport.send(fixedBatch(), new AbortController().signal);
}

/** No 6 characters in a row of the secret (spaces folded or not) are in the reason. */
function expectNoPieceOfSecret(outcome: SendOutcome): string {
  if (outcome.ok) throw new Error('expected a refusal');
  for (const secret of [SECRET, SECRET.replace(/\s+/g, ' ')]) {
    for (let i = 0; i + 6 <= secret.length; i++) expect(outcome.reason, `holds ${JSON.stringify(secret.slice(i, i + 6))}`).not.toContain(secret.slice(i, i + 6));
  }
  return outcome.reason;
}

describe('a collector that echoes the request headers back', () => {
  it('a body that quotes the secret where the reason is cut: no piece of it is kept', async () => {
    handler = (req, res) => res.writeHead(401, { 'Content-Type': 'text/plain' }).end(`${'x'.repeat(157)} you sent Authorization: ${req.headers.authorization}`);
    const reason = expectNoPieceOfSecret(await send());
    expect(reason).toContain('401');
  });

  it('a body that quotes it whole (its spaces folded in the reason): blanked', async () => {
    handler = (req, res) => res.writeHead(403).end(`denied for ${req.headers.authorization}`);
    expect(expectNoPieceOfSecret(await send('webhook'))).toContain('[secret]');
  });

  it('a status text or a content type that quotes it: blanked', async () => {
    handler = (req, res) => res.writeHead(400, `${'y'.repeat(40)} ${req.headers.authorization}`).end();
    expectNoPieceOfSecret(await send());
    handler = (req, res) => res.writeHead(200, { 'Content-Type': `text/html; x=${'z'.repeat(25)} ${req.headers.authorization}` }).end('<html>');
    expectNoPieceOfSecret(await send());
  });
});

describe('a collector that redirects', () => {
  it('is never followed to another host (the secret and the records stay put), and is not an acknowledgement', async () => {
    for (const status of [301, 302, 307, 308]) {
      handler = (_req, res) => res.writeHead(status, { Location: `https://elsewhere.test:${elsewherePort}/v1/logs` }).end();
      const outcome = await send(status % 2 ? 'webhook' : 'otlp-http');
      expect(outcome.ok).toBe(false);
      expect(outcome.ok ? '' : outcome.reason).toContain(String(status));
    }
    expect(elsewhereGot).toEqual([]);
  });
});

describe('a collector behind a body limit (413 Payload Too Large, as nginx answers past 1 MiB)', () => {
  it('gets smaller batches until they fit, rather than the same refused batch for ever: it holds every record once', { timeout: 30_000 }, async () => {
    const limit = 6000;
    const held: number[] = [];
    let refused = 0;
    handler = () => undefined;
    collector.removeAllListeners('request');
    collector.on('request', (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (body.length > limit) {
          refused += 1;
          res.writeHead(413).end();
          return;
        }
        for (const line of body.toString().trim().split('\n')) {
          const item = JSON.parse(line) as { airlock: string; record?: { n: number } };
          if (item.airlock === 'record') held.push(item.record!.n);
        }
        res.writeHead(200).end();
      });
    });
    const home = forwardingHome({ url: `https://collector.test:${port}/in`, caFile: ca.file });
    for (let i = 0; i < 40; i++) home.store.append(event({ data: { line: 'o'.repeat(400) } }));
    await home.store.flush();
    const forwarding = new Forwarding({ home: home.home, auditDir: home.auditDir, key: () => home.signer, keychain: home.keychain, transports: transportFactory({ lookup: loopbackLookup }), clock: home.clock, version: 'test', random: () => 0 });
    forwarding.start();
    try {
      await until(async () => {
        await home.clock.advance(10 * 60_000);
        return (await forwarding.status())[0]!.acked?.n === 40;
      }, 'every record acknowledged');
    } finally {
      await forwarding.close();
    }
    expect(refused).toBeGreaterThan(0);
    expect(held).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });
});
