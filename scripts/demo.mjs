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
import { Buffer } from 'node:buffer';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { airlock as runCli, lastTaskOf, listen as listenOn, makeCertificates, passSignalsToChild, REPO } from './demo-lib.mjs';

const SUPPLIERS = path.join(REPO, 'assets', 'agents', 'demo', 'data', 'suppliers.csv');
const VENDOR_HOST = 'api.vendor.test';
const VENDOR_PORT = 18443;
const CREDENTIAL = 'demo-vendor-api';

const args = process.argv.slice(2);
const json = args.includes('--json');
// With --json, stdout carries only the task's events; what this script says goes to stderr.
const say = (text) => (json ? process.stderr : process.stdout).write(`${text}\n`);
const sayStream = json ? process.stderr : 'inherit';

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

const listen = (server) => listenOn(server, VENDOR_PORT, 'the pretend vendor API');
const airlock = (cliArgs, options = {}) => runCli(cliArgs, { stdio: ['ignore', sayStream, 'inherit'], ...options });
const lastDemoTask = () => lastTaskOf('demo');
passSignalsToChild();

async function main() {
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-demo-'));
  const seen = [];
  let server;
  try {
    // The key is made anew and re-stored every run, so this server knows it and nothing else does.
    const secret = `vnd_demo_${randomBytes(24).toString('base64url')}`;
    const tls = await makeCertificates(VENDOR_HOST);
    const caFile = path.join(temp, 'vendor-ca.pem');
    fs.writeFileSync(caFile, tls.caPem);
    server = vendorApi(tls, secret, readAccounts(), seen);
    try {
      await listen(server);
    } catch (error) {
      server = undefined;
      console.error(`demo: ${error.message}`);
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
