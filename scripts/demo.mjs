#!/usr/bin/env node
// `npm run demo`: the whole Airlock story in one run, entirely on this machine.
//
//  1. starts a pretend vendor API, https://api.vendor.test:18443, on 127.0.0.1, with a certificate
//     made now from a CA of its own (the gateway is told to trust it with AIRLOCK_UPSTREAM_CA);
//  2. builds the agent image if it is missing;
//  3. stores the vendor API's key in the OS keychain as the credential demo-vendor-api;
//  4. runs the demo agent (assets/agents/demo): it reviews invoices, confirms bank accounts with
//     the vendor API through the key Airlock lends it (the sandbox sees only a placeholder), then
//     tries an upload to a host it was not given and sends its token to another host: both refused;
//  5. says what the vendor API saw, stops it, removes its files, and exits with the run's code.
//
// Extra arguments go to `airlock run demo`, e.g. `npm run demo -- --json` or `-- --output ./out`.
// No traffic leaves this machine: the gateway resolves api.vendor.test to 127.0.0.1
// (AIRLOCK_GATEWAY_HOSTS), and every other name the agent uses ends in .test and is refused
// before any DNS lookup.
import 'reflect-metadata'; // @peculiar/x509's documented requirement (its dependency injection)
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { randomBytes, timingSafeEqual, webcrypto } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as x509 from '@peculiar/x509';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO, 'bin', 'airlock.cjs');
const SUPPLIERS = path.join(REPO, 'assets', 'agents', 'demo', 'data', 'suppliers.csv');
const VENDOR_HOST = 'api.vendor.test';
const VENDOR_PORT = 18443;
const CREDENTIAL = 'demo-vendor-api';

const args = process.argv.slice(2);
const json = args.includes('--json');
// With --json, stdout carries only the task's events; what this script says goes to stderr.
const say = (text) => (json ? process.stderr : process.stdout).write(`${text}\n`);
const sayStream = json ? process.stderr : 'inherit';

x509.cryptoProvider.set(webcrypto);

/** A CA for the pretend vendor and a leaf certificate for api.vendor.test, made afresh each run. */
async function makeCertificates() {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 24 * 3600_000);
  const caKeys = await webcrypto.subtle.generateKey(alg, false, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex').replace(/^[89a-f]/, '1'), name: 'CN=Airlock demo vendor CA, O=Airlock demo',
    notBefore, notAfter, signingAlgorithm: alg, keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(8).toString('hex').replace(/^[89a-f]/, '1'), subject: `CN=${VENDOR_HOST}`, issuer: ca.subject,
    notBefore, notAfter, signingAlgorithm: alg, publicKey: keys.publicKey, signingKey: caKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: VENDOR_HOST }]),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g).join('\n')}\n-----END PRIVATE KEY-----\n`;
  return { caPem: ca.toString('pem'), certPem: `${leaf.toString('pem')}\n${ca.toString('pem')}`, key };
}

/** supplier_id → IBAN, from the demo's supplier directory (the vendor agrees with it). */
function readAccounts() {
  const [header, ...rows] = fs.readFileSync(SUPPLIERS, 'utf8').split(/\r?\n/).filter((l) => l.trim());
  const cells = (line) => [...line.matchAll(/("(?:[^"]|"")*"|[^,]*)(?:,|$)/g)].map((m) => m[1].replace(/^"|"$/g, '').replace(/""/g, '"'));
  const names = cells(header);
  const accounts = new Map();
  for (const row of rows) {
    const record = Object.fromEntries(cells(row).map((value, i) => [names[i], value]));
    accounts.set(record.supplier_id, record.iban);
  }
  return accounts;
}

/**
 * The pretend vendor API: GET /v1/suppliers/<id>/bank-account with `Authorization: Bearer <key>`.
 * It records what it saw (never the key itself) for the summary at the end.
 */
function vendorApi(tls, secret, accounts, seen) {
  const expected = Buffer.from(`Bearer ${secret}`);
  return https.createServer({ key: tls.key, cert: tls.certPem }, (req, res) => {
    const reply = (status, body, headers = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(`${JSON.stringify(body)}\n`);
    };
    const given = Buffer.from(req.headers.authorization ?? '');
    const key = given.length === 0 ? 'no key'
      : given.length === expected.length && timingSafeEqual(given, expected) ? 'the real key'
        : /^Bearer eyJ/.test(given.toString()) ? 'an Airlock placeholder, not the key' : 'a wrong key';
    const record = (status) => seen.push({ method: req.method, path: req.url, key, status });
    const match = /^\/v1\/suppliers\/([^/]+)\/bank-account$/.exec(req.url ?? '');
    if (!match || req.method !== 'GET') return record(404), reply(404, { error: 'not found: try GET /v1/suppliers/<supplier_id>/bank-account' });
    if (key !== 'the real key') return record(401), reply(401, { error: 'a valid API key is required' }, { 'www-authenticate': 'Bearer' });
    const id = decodeURIComponent(match[1]);
    const iban = accounts.get(id);
    if (!iban) return record(404), reply(404, { error: `no supplier ${id}` });
    record(200);
    reply(200, { supplier_id: id, iban });
  });
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(VENDOR_PORT, '127.0.0.1', () => resolve());
  });
}

// Ctrl-C reaches the whole process group: airlock tears its sandbox down and exits 130, then this
// script stops the vendor API and removes its files. A SIGTERM sent to this script alone is passed on.
let current;
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => current?.kill('SIGTERM'));

/** Runs the airlock CLI; resolves with its exit code. */
function airlock(cliArgs, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...cliArgs], { cwd: process.cwd(), stdio: options.stdio ?? ['ignore', sayStream, 'inherit'], env: options.env ?? process.env });
    current = child;
    if (options.input !== undefined) child.stdin.end(options.input);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      current = undefined;
      resolve(code ?? (signal === 'SIGINT' ? 130 : 1));
    });
  });
}

/** The id of the task that just ran: the newest record in the audit trail belongs to it. */
function lastDemoTask() {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'log', '--limit', '1', '--json'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let text = '';
    child.stdout.on('data', (chunk) => (text += chunk));
    child.on('error', () => resolve(undefined));
    child.on('close', () => {
      try {
        const record = JSON.parse(text.trim().split('\n').at(-1));
        resolve(record.agent?.name === 'demo' ? record.task : undefined);
      } catch {
        resolve(undefined);
      }
    });
  });
}

async function main() {
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-demo-'));
  const seen = [];
  let server;
  try {
    // The key is made anew and re-stored every run, so this server knows it and nothing else does.
    const secret = `vnd_demo_${randomBytes(24).toString('base64url')}`;
    const tls = await makeCertificates();
    const caFile = path.join(temp, 'vendor-ca.pem');
    fs.writeFileSync(caFile, tls.caPem);
    server = vendorApi(tls, secret, readAccounts(), seen);
    try {
      await listen(server);
    } catch (error) {
      server = undefined;
      const why = error.code === 'EADDRINUSE' ? 'is already in use (is another demo running?); free it and try again' : `cannot be used: ${error.message}`;
      console.error(`demo: port ${VENDOR_PORT} on 127.0.0.1, where the pretend vendor API listens, ${why}`);
      return 1;
    }

    say('\nThe Airlock demo. Everything stays on this machine:');
    say(`  · a pretend vendor API serves https://${VENDOR_HOST}:${VENDOR_PORT} (on 127.0.0.1)`);
    say(`  · its API key is stored in the OS keychain as the credential ${CREDENTIAL}, for that host only`);
    say('  · the demo agent runs in a disposable sandbox that can reach that host and nothing else; Airlock');
    say('    lends it the key for 5 minutes as a placeholder, and the gateway swaps the real key in on the way out');
    say('  · then the agent misbehaves on purpose: it uploads to another host, and sends its token elsewhere\n');
    const built = await airlock(['image', 'build', '--if-missing']);
    if (built !== 0) return built;
    const stored = await airlock(['cred', 'add', CREDENTIAL, '--host', `${VENDOR_HOST}:${VENDOR_PORT}`, '--max-ttl', '15m',
      '--description', 'the pretend vendor API of `npm run demo` (stored anew on every run)'], { stdio: ['pipe', sayStream, 'inherit'], input: secret });
    if (stored !== 0) return stored;

    const runArgs = args.some((a) => a === '--output' || a.startsWith('--output=')) ? args : [...args, '--output', './demo-output'];
    const pins = [`${VENDOR_HOST}=127.0.0.1`, process.env.AIRLOCK_GATEWAY_HOSTS].filter(Boolean).join(',');
    say(`$ airlock run demo ${runArgs.join(' ')}\n`);
    const code = await airlock(['run', 'demo', ...runArgs], {
      stdio: ['inherit', 'inherit', 'inherit'],
      env: { ...process.env, AIRLOCK_GATEWAY_HOSTS: pins, AIRLOCK_UPSTREAM_CA: caFile },
    });

    if (code === 0 || seen.length > 0) {
      say(`\nMeanwhile, the vendor API received ${seen.length} request(s):`);
      for (const r of seen) say(`  ${r.method} ${r.path} with ${r.key} → ${r.status}`);
      if (seen.length > 0 && seen.every((r) => r.key === 'the real key')) say('  Each carried the real key, yet the sandbox only ever held a placeholder.');
    }
    if (!json && code !== 125 && code !== 130) {
      const task = await lastDemoTask();
      say(`\nReplay it from the audit trail: npx airlock log ${task ?? '<task id, on the ▶ line>'}`);
      say('Check the trail is intact:      npx airlock audit verify');
    }
    return code;
  } finally {
    if (server) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve()));
    }
    fs.rmSync(temp, { recursive: true, force: true });
  }
}

process.exitCode = await main().catch((error) => {
  console.error(`demo: ${error.message}`);
  return 1;
});
