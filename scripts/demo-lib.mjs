// What both demos (`npm run demo`, `npm run demo:desktop`) need: certificates for pretend vendor
// hosts made afresh on every run, the airlock CLI as a child process, and the newest task's id.
import 'reflect-metadata'; // @peculiar/x509's documented requirement (its dependency injection)
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { randomBytes, webcrypto } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as x509 from '@peculiar/x509';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = path.join(REPO, 'bin', 'airlock.cjs');

x509.cryptoProvider.set(webcrypto);

/** A CA of the pretend vendor's own and a leaf certificate for `host`, made afresh each run. */
export async function makeCertificates(host) {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 24 * 3600_000);
  const serialNumber = () => randomBytes(8).toString('hex').replace(/^[89a-f]/, '1');
  const caKeys = await webcrypto.subtle.generateKey(alg, false, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(), name: 'CN=Airlock demo vendor CA, O=Airlock demo',
    notBefore, notAfter, signingAlgorithm: alg, keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(), subject: `CN=${host}`, issuer: ca.subject,
    notBefore, notAfter, signingAlgorithm: alg, publicKey: keys.publicKey, signingKey: caKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: host }]),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g).join('\n')}\n-----END PRIVATE KEY-----\n`;
  return { caPem: ca.toString('pem'), certPem: `${leaf.toString('pem')}\n${ca.toString('pem')}`, key };
}

/** Listens on 127.0.0.1:`port`; a clear message when the port is taken. */
export function listen(server, port, what) {
  return new Promise((resolve, reject) => {
    server.once('error', (error) => {
      const why = error.code === 'EADDRINUSE' ? 'is already in use (is another demo running?); free it and try again' : `cannot be used: ${error.message}`;
      reject(new Error(`port ${port} on 127.0.0.1, where ${what} listens, ${why}`));
    });
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

let current;
/** Ctrl-C reaches the whole process group (airlock tears its sandbox down); SIGTERM is passed on. */
export function passSignalsToChild() {
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => current?.kill('SIGTERM'));
}

/** Runs the airlock CLI; resolves with its exit code. */
export function airlock(cliArgs, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...cliArgs], { cwd: process.cwd(), stdio: options.stdio, env: options.env ?? process.env });
    current = child;
    if (options.input !== undefined) child.stdin.end(options.input);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      current = undefined;
      resolve(code ?? (signal === 'SIGINT' ? 130 : 1));
    });
  });
}

/** The id of the task that just ran, when the newest record in the audit trail is `agent`'s. */
export function lastTaskOf(agent) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'log', '--limit', '1', '--json'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let text = '';
    child.stdout.on('data', (chunk) => (text += chunk));
    child.on('error', () => resolve(undefined));
    child.on('close', () => {
      try {
        const record = JSON.parse(text.trim().split('\n').at(-1));
        resolve(record.agent?.name === agent ? record.task : undefined);
      } catch {
        resolve(undefined);
      }
    });
  });
}
