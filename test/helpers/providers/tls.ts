import 'reflect-metadata'; // @peculiar/x509's documented requirement (its dependency injection)
import { randomBytes, webcrypto } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { tempDir } from '../env.js';

/** A CA made for one test file and a server certificate it signed for some `.test` names. */
export interface TestTls {
  /** The CA in PEM, to give the gateway as AIRLOCK_UPSTREAM_CA (see `caFile`). */
  caPem: string;
  /** A file holding `caPem`. */
  caFile: string;
  /** The leaf then the CA, for `https.createServer({ cert })`. */
  certPem: string;
  key: string;
}

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const serialNumber = () => randomBytes(8).toString('hex').replace(/^[89a-f]/, '1');

/** Makes a CA (valid one day) and a leaf for `hosts`; the CA's private key is dropped at once. */
export async function makeTestTls(hosts: string[]): Promise<TestTls> {
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 24 * 3600_000);
  const caKeys = await webcrypto.subtle.generateKey(ECDSA, false, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(), name: 'CN=Airlock test provider CA, O=Airlock tests', notBefore, notAfter, signingAlgorithm: ECDSA, keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const keys = await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify']);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(), subject: `CN=${hosts[0]}`, issuer: ca.subject, notBefore, notAfter, signingAlgorithm: ECDSA,
    publicKey: keys.publicKey, signingKey: caKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(hosts.map((value) => ({ type: 'dns' as const, value }))),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
  const caPem = ca.toString('pem');
  const caFile = path.join(tempDir('airlock-provider-ca-'), 'ca.pem');
  fs.writeFileSync(caFile, caPem);
  return { caPem, caFile, certPem: `${leaf.toString('pem')}\n${caPem}`, key };
}

/** Serves `handler` over HTTPS on 127.0.0.1 (a free port); resolves to the port and a closer. */
export async function serveHttps(tls: TestTls, handler: Parameters<typeof https.createServer>[1]): Promise<{ server: https.Server; port: number; close: () => Promise<void> }> {
  const server = https.createServer({ cert: tls.certPem, key: tls.key }, handler);
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
  const close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return { server, port, close };
}
