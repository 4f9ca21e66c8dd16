#!/usr/bin/env node
// `npm run demo:desktop`: a computer-use agent in a disposable desktop, entirely on this machine.
//
//  1. starts a pretend vendor portal, https://portal.vendor.test:18444, on 127.0.0.1, with a
//     certificate made now from a CA of its own (the gateway trusts it via AIRLOCK_UPSTREAM_CA);
//  2. builds the agent and desktop images if they are missing;
//  3. stores the portal's API key in the OS keychain as the credential demo-portal;
//  4. runs the portal agent (assets/agents/portal): in a browser on the sandbox's virtual screen it
//     signs in with the lent key (a placeholder inside the sandbox), reads an invoice, tries a site
//     it was not given (Airlock's refusal page) and writes its finding to ./demo-output;
//  5. says what the portal saw and where the screenshots are, stops the portal, and exits with the
//     run's code. Open the app while it runs to watch the screen live.
//
// Extra arguments go to `airlock run portal`, e.g. `npm run demo:desktop -- --json`.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { airlock as runCli, lastTaskOf, makeCertificates, passSignalsToChild } from './demo-lib.mjs';
import { PORTAL_HOST, startVendorPortal } from './vendor-portal.mjs';

const PORTAL_PORT = 18444;
const CREDENTIAL = 'demo-portal';

const args = process.argv.slice(2);
const json = args.includes('--json');
const say = (text) => (json ? process.stderr : process.stdout).write(`${text}\n`);
const sayStream = json ? process.stderr : 'inherit';
const airlock = (cliArgs, options = {}) => runCli(cliArgs, { stdio: ['ignore', sayStream, 'inherit'], ...options });
passSignalsToChild();

async function main() {
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-demo-desktop-'));
  let portal;
  try {
    const secret = `nwp_demo_${randomBytes(24).toString('base64url')}`;
    const tls = await makeCertificates(PORTAL_HOST);
    const caFile = path.join(temp, 'portal-ca.pem');
    fs.writeFileSync(caFile, tls.caPem);
    try {
      portal = await startVendorPortal({ port: PORTAL_PORT, secret, tls });
    } catch (error) {
      console.error(`demo: ${error.message}`);
      return 1;
    }

    say('\nThe Airlock desktop demo. Everything stays on this machine:');
    say(`  · a pretend vendor portal serves https://${PORTAL_HOST}:${PORTAL_PORT} (on 127.0.0.1)`);
    say(`  · its API key is in the OS keychain as the credential ${CREDENTIAL}, for that host only`);
    say('  · the portal agent runs a browser on a virtual screen in a disposable sandbox: it signs in with');
    say('    a placeholder for the key, reads an invoice, tries a site it was not given, and writes a finding');
    say('  · open the app (npm start) to watch its screen live; screenshots go into the action log\n');
    for (const image of [['image', 'build', '--if-missing'], ['image', 'build', '--desktop', '--if-missing']]) {
      const built = await airlock(image);
      if (built !== 0) return built;
    }
    const stored = await airlock(['cred', 'add', CREDENTIAL, '--host', `${PORTAL_HOST}:${PORTAL_PORT}`, '--max-ttl', '15m',
      '--description', 'the pretend vendor portal of `npm run demo:desktop` (stored anew on every run)'], { stdio: ['pipe', sayStream, 'inherit'], input: secret });
    if (stored !== 0) return stored;

    const runArgs = args.some((a) => a === '--output' || a.startsWith('--output=')) ? args : [...args, '--output', './demo-output'];
    const pins = [`${PORTAL_HOST}=127.0.0.1`, process.env.AIRLOCK_GATEWAY_HOSTS].filter(Boolean).join(',');
    say(`$ airlock run portal ${runArgs.join(' ')}\n`);
    const code = await airlock(['run', 'portal', ...runArgs], {
      stdio: ['inherit', 'inherit', 'inherit'],
      env: { ...process.env, AIRLOCK_GATEWAY_HOSTS: pins, AIRLOCK_UPSTREAM_CA: caFile },
    });

    if (portal.seen.length > 0) {
      say(`\nMeanwhile, the portal received ${portal.seen.length} request(s):`);
      for (const r of portal.seen) say(`  ${r.method} ${r.path}${r.key ? ` with ${r.key}` : ''} → ${r.status}`);
    }
    if (!json && code !== 125 && code !== 130) {
      const task = await lastTaskOf('portal');
      say(`\nStep through its screenshots in the app (task ${task ?? '<id>'}), or replay the log: npx airlock log ${task ?? "<id>"}`);
    }
    return code;
  } finally {
    await portal?.close();
    fs.rmSync(temp, { recursive: true, force: true });
  }
}

process.exitCode = await main().catch((error) => {
  console.error(`demo: ${error.message}`);
  return 1;
});
