/**
 * A hostile agent holds a secret in the clear (a credential lent with `delivery: env`, stored in
 * the real keychain through the CLI) and tries to get it into Airlock's log and audit trail in
 * every shape: as a JSON key, JSON-escaped, split across the 16 KiB line cut, base64 at every byte
 * alignment (inside Basic auth too), percent-encoded and hex, in output, action records and a
 * refused request's URL. None of it may reach the trail's files or the CLI's output; every
 * attempt is in the log as `[redacted:<credential>]`, and the task runs to its end.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keychain } from '../../main/core/credentials/keychain.js';
import { approve, CLI, runCli, tempDir, type CliResult } from '../helpers/env.js';
import { hostileAgent } from './hostile-agent.js';

const NAME = `redaction-${process.pid}`;
// Quotes and a backslash (so JSON escapes it), a two-byte character (so the cut can fall inside
// it), a space, and base64's and URLs' own special characters.
const SECRET = `s3"cr\\Üt /+=q${randomBytes(4).toString('hex').slice(0, 6)}`;
const REDACTED = `[redacted:${NAME}]`;

const dir = tempDir('airlock-redaction-');
const home = path.join(dir, 'home');
let run: CliResult;
type Event = { kind: string; data: Record<string, unknown> };
let events: Event[];

function storeSecret(): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'cred', 'add', NAME, '--host', 'db.vendor.test'], { env: { ...process.env, AIRLOCK_HOME: home } });
    child.on('close', resolve);
    child.stdin.end(`${SECRET}\n`);
  });
}

/** Every way the test's agent wrote the secret, as it wrote it. */
function shapesOf(secret: string): string[] {
  const bytes = Buffer.from(secret);
  const everyByte = [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  return [
    secret, JSON.stringify(secret).slice(1, -1), JSON.stringify(JSON.stringify(secret)).slice(1, -1),
    bytes.toString('base64'), bytes.toString('base64').replace(/=+$/, ''), bytes.toString('base64url'),
    Buffer.from(`admin:${secret}`).toString('base64'),
    Buffer.concat([Buffer.from('x'), bytes, Buffer.from('yz')]).toString('base64'),
    Buffer.concat([Buffer.from('xy'), bytes, Buffer.from('z')]).toString('base64url'),
    encodeURIComponent(secret), encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    everyByte, everyByte.toUpperCase(), bytes.toString('hex'), bytes.toString('hex').toUpperCase(),
  ];
}

/** Every file the audit trail wrote, as bytes read as text. */
function trailText(): string {
  const files: string[] = [];
  const walk = (folder: string) => {
    for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.push(full);
    }
  };
  walk(path.join(home, 'audit'));
  return files.map((file) => fs.readFileSync(file, 'utf8')).join('\n');
}

beforeAll(async () => {
  expect(await storeSecret()).toBe(0);
  const manifest = hostileAgent(dir, {
    name: 'redaction-attacker', script: 'redaction.mjs',
    more: [`credentials: [{ name: ${NAME}, delivery: env, env: DB_PASSWORD, ttl: 5m }]`, 'network: { mode: allowlist, allow: [db.vendor.test] }'],
  });
  approve(manifest, home);
  run = await runCli(['run', manifest, '--json'], { env: { AIRLOCK_HOME: home } });
  events = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as Event);
}, 120_000);

afterAll(() => {
  new Keychain().delete(`credential:${NAME}`);
});

describe('a hostile agent holding a secret in the clear', () => {
  it('runs to its end, and every attempt is in the log, redacted', () => {
    expect(run.code).toBe(0);
    const said = (label: string) => events.find((e) => e.kind === 'proc.stdout' && String(e.data.line).startsWith(`${label}: `))?.data.line;
    expect(said('done')).toBe('done: all attempts made');
    for (const label of ['raw', 'base64', 'base64-unpadded', 'base64url', 'uri', 'uri-lower', 'every-byte-upper', 'every-byte-lower', 'hex', 'HEX']) {
      expect(said(label), label).toBe(`${label}: ${REDACTED}`);
    }
    expect(said('json')).toBe(`json: {"password":"${REDACTED}"}`);
    expect(said('json-in-json')).toBe(`json-in-json: "{\\"password\\":\\"${REDACTED}\\"}"`);
    expect(said('basic')).toMatch(new RegExp(`^basic: Authorization: Basic [A-Za-z0-9+/]*${escape(REDACTED)}[A-Za-z0-9+/=]*$`));
    expect(said('base64-offset-1')).toContain(REDACTED);
    expect(said('base64-offset-2')).toContain(REDACTED);
    expect(events.find((e) => e.kind === 'proc.stderr')?.data.line).toBe(`stderr: ${REDACTED}`);
  });

  it('used as a JSON key, in nested keys and values of an action record, the secret is cut out of keys too', () => {
    const action = events.find((e) => e.kind === 'agent.action' && e.data.type === 'exfiltrate')!;
    expect(action.data).toEqual({ type: 'exfiltrate', [REDACTED]: 'as a key', nested: { [`k-${REDACTED}`]: [REDACTED, REDACTED] } });
  });

  it('split at the line cut, the start of the secret is not kept: every cut line ends redacted', () => {
    const cut = events.filter((e) => e.kind === 'proc.stdout' && typeof e.data.cutBytes === 'number');
    expect(cut).toHaveLength(8);
    for (const event of cut) {
      const line = String(event.data.line);
      expect(line.endsWith(REDACTED), line.slice(-60)).toBe(true);
      const kept = line.slice(0, -REDACTED.length);
      for (const shape of [SECRET, Buffer.from(SECRET).toString('hex')]) {
        for (let length = 1; length < shape.length; length++) expect(kept.endsWith(shape.slice(0, length)), `${shape.slice(0, length)} at the cut`).toBe(false);
      }
    }
  });

  it('never reaches the audit trail\'s files or the CLI\'s output in any shape', () => {
    const trail = trailText();
    expect(trail).toContain(REDACTED); // the attempts are on the record
    for (const shape of shapesOf(SECRET)) {
      expect(trail.includes(shape), `trail holds ${shape}`).toBe(false);
      expect(run.stdout.includes(shape), `stdout holds ${shape}`).toBe(false);
      expect(run.stderr.includes(shape), `stderr holds ${shape}`).toBe(false);
    }
    // A refused request's host name and URL carried it too.
    const refused = events.filter((e) => e.kind === 'net.denied' || e.kind === 'net.request');
    expect(refused.length).toBeGreaterThan(0);
    expect(JSON.stringify(refused)).toContain(REDACTED);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
