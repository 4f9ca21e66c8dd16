// An engine's forwarding in a process of its own, for forward-kill.test.ts to SIGKILL mid-send:
// argv: AIRLOCK_HOME, a JSON file of the keychain (the trail's key). Sends with the real transports.
import fs from 'node:fs';
import path from 'node:path';
import { keychainHeadSigner } from '../../main/core/audit/head.js';
import { Forwarding } from '../../main/core/forward/forwarding.js';
import { transportFactory } from '../../main/core/forward/transports.js';
import { loopbackLookup } from '../helpers/forward-collector.js';
import { MemorySecrets } from '../helpers/memory-secrets.js';

const [home, keychainFile] = process.argv.slice(2) as [string, string];
const keychain = new MemorySecrets();
for (const [account, value] of Object.entries(JSON.parse(fs.readFileSync(keychainFile, 'utf8')) as Record<string, string>)) keychain.set(account, value);
const signer = keychainHeadSigner(keychain);
new Forwarding({ home, auditDir: path.join(home, 'audit'), key: () => signer, keychain, transports: transportFactory({ lookup: loopbackLookup }), version: 'child' }).start();
setInterval(() => undefined, 60_000);
