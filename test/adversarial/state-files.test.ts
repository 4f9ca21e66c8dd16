/**
 * Airlock's state files in AIRLOCK_HOME (credentials.json, approvals.json, agents.json) when they
 * are damaged or written by several Airlock processes at once. A damaged file (not JSON, the wrong
 * shape, no version, a newer Airlock's version) is refused with an error naming it, by every
 * reader and writer, in the core and at the CLI, and is left byte for byte as it was: never read
 * as empty and overwritten. Airlock keeps working with its other files, and the file's own hint
 * gets the user going again. Writers in separate processes started together lose no change.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CredentialStore } from '../../main/core/credentials/store.js';
import { AirlockError } from '../../main/core/errors.js';
import { loadManifestFile } from '../../main/core/policy/manifest.js';
import { AgentRegistry as Approvals } from '../../main/core/policy/registry.js';
import { AgentRegistry as OpenedAgents } from '../../main/core/service/agents.js';
import { MemorySecrets } from '../helpers/memory-secrets.js';
import { REPO, runCli, tempDir } from '../helpers/env.js';

type Kind = 'credentials' | 'approvals' | 'agents';

/** The file of each kind, a valid entry's list key, and the current version. */
const FILES: Record<Kind, { file: string; list: string; version: number }> = {
  credentials: { file: 'credentials.json', list: 'credentials', version: 1 },
  approvals: { file: 'approvals.json', list: 'approvals', version: 2 },
  agents: { file: 'agents.json', list: 'recent', version: 1 },
};

/** Ways a file gets damaged: by hand, by a crash of something else, by a newer Airlock. */
const DAMAGE: Record<string, (kind: Kind) => string> = {
  'not JSON': (kind) => `{"v": ${FILES[kind].version}, "${FILES[kind].list}": [{"name": "vend`,
  'the wrong shape': (kind) => JSON.stringify({ v: FILES[kind].version, [FILES[kind].list]: [{ name: 42 }] }),
  'no version': (kind) => JSON.stringify({ [FILES[kind].list]: [] }),
  'a newer version': (kind) => JSON.stringify({ v: FILES[kind].version + 7, [FILES[kind].list]: [], future: true }),
  'not an object': () => '[]\n',
};

function manifestIn(dir: string, name: string): string {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, `name: ${name}\ncommand: ["true"]\n`);
  return file;
}

/** Every way the core reads and changes a kind's file, in one AIRLOCK_HOME. */
function usesOf(kind: Kind, home: string, secrets: MemorySecrets): Record<string, () => unknown> {
  const assetsDir = path.join(home, 'no-assets');
  const manifest = manifestIn(home, 'reviewer');
  const credentials = new CredentialStore(home, secrets);
  const approvals = new Approvals(home, assetsDir);
  const opened = new OpenedAgents({ home, assetsDir });
  return {
    credentials: {
      list: () => credentials.list(),
      add: () => credentials.add({ name: 'vendor', secret: 'sk-not-a-secret', hosts: ['api.vendor.test'] }),
      remove: () => credentials.remove('vendor'),
    },
    approvals: {
      list: () => approvals.list(),
      'state of a manifest': () => approvals.stateOf(loadManifestFile(manifest)),
      approve: () => approvals.approve(loadManifestFile(manifest), 'a person', null),
    },
    agents: {
      list: () => opened.list(),
      open: () => opened.open(manifest),
      forget: () => opened.forget(`file:${manifest}`),
    },
  }[kind];
}

function refusal(use: () => unknown): AirlockError {
  try {
    use();
  } catch (error) {
    if (error instanceof AirlockError) return error;
    throw error;
  }
  throw new Error('the damaged file was accepted');
}

describe('a damaged state file', () => {
  for (const kind of Object.keys(FILES) as Kind[]) {
    for (const [damage, content] of Object.entries(DAMAGE)) {
      it(`${FILES[kind].file}, ${damage}: every reader and writer refuses it naming the file, and leaves it byte for byte`, () => {
        const home = tempDir('airlock-state-');
        const file = path.join(home, FILES[kind].file);
        const bytes = Buffer.from(content(kind));
        fs.writeFileSync(file, bytes, { mode: 0o600 });
        const secrets = new MemorySecrets();
        for (const [name, use] of Object.entries(usesOf(kind, home, secrets))) {
          const error = refusal(use);
          expect(error.code, name).toBe('state_damaged');
          expect(error.message, name).toContain(file);
          expect(error.hint, name).toMatch(/has not changed it/);
          expect(fs.readFileSync(file), name).toEqual(bytes);
        }
        // Nothing else was written beside it (no temp file, no lock left), and no secret was stored for a list that could not take it.
        expect(fs.readdirSync(home).filter((f) => f !== 'reviewer.yaml').sort()).toEqual([FILES[kind].file]);
        expect(secrets.values.size).toBe(0);
      });
    }
  }

  it('does not stop the other files, and moving it aside as its hint says gets the user going again', () => {
    const home = tempDir('airlock-state-');
    const secrets = new MemorySecrets();
    const damaged = path.join(home, 'approvals.json');
    fs.writeFileSync(damaged, 'not json at all');
    const { add } = usesOf('credentials', home, secrets);
    const opened = usesOf('agents', home, secrets);
    add!();
    opened.open!();
    expect(new CredentialStore(home, secrets).list().map((c) => c.name)).toEqual(['vendor']);

    const approvals = usesOf('approvals', home, secrets);
    const hint = refusal(approvals.approve!).hint!;
    const [, from, to] = /mv '([^']+)' '([^']+)'/.exec(hint)!;
    fs.renameSync(from!, to!);
    approvals.approve!();
    expect(approvals['state of a manifest']!()).toBe('approved');
    expect(fs.readFileSync(to!, 'utf8')).toBe('not json at all');
  });

  it('is refused by the CLI with its name (exit 125), and left as it was', async () => {
    const home = tempDir('airlock-state-');
    const files = { credentials: path.join(home, 'credentials.json'), approvals: path.join(home, 'approvals.json') };
    fs.writeFileSync(files.credentials, DAMAGE['the wrong shape']!('credentials'));
    fs.writeFileSync(files.approvals, DAMAGE['a newer version']!('approvals'));
    const before = { credentials: fs.readFileSync(files.credentials), approvals: fs.readFileSync(files.approvals) };
    const env = { AIRLOCK_HOME: home, AIRLOCK_ENGINE: 'inprocess' };
    const [credentials, agents] = await Promise.all([runCli(['cred', 'ls'], { env }), runCli(['agents', 'ls'], { env })]);
    expect(credentials.code).toBe(125);
    expect(credentials.stderr).toContain(`${files.credentials} (the credential list) is damaged: credentials.0.name`);
    expect(agents.code).toBe(125);
    expect(agents.stderr).toContain(`${files.approvals} (the agents you approved) was written by a newer Airlock: version 9`);
    expect(fs.readFileSync(files.credentials)).toEqual(before.credentials);
    expect(fs.readFileSync(files.approvals)).toEqual(before.approvals);
  });
});

/** Starts a state-writer process; resolves when it is ready, with a function that starts it and waits for it. */
function writer(home: string, tag: string, count: number, opened: number): Promise<() => Promise<void>> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/state-writer.ts', home, tag, String(count), String(opened)], { cwd: REPO });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve, reject) => child.on('close', (code) => (code === 0 && stdout.includes('done') ? resolve() : reject(new Error(`state-writer ${tag} exited ${code}: ${stderr}`)))));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout === 'ready\n') resolve(() => (child.stdin.write('go\n'), exited));
    });
    exited.catch(reject);
  });
}

describe('state files written by several Airlock processes at once', () => {
  it('lose no change: every credential, approval and opened agent of every writer is there', async () => {
    const home = tempDir('airlock-state-');
    // Three processes, forty rounds each; the app's list keeps the 20 most recent: six each fit.
    const tags = ['w0', 'w1', 'w2'];
    const [rounds, opened] = [40, 6];
    const ready = await Promise.all(tags.map((tag) => writer(home, tag, rounds, opened)));
    await Promise.all(ready.map((start) => start()));

    const names = (count: number) => tags.flatMap((tag) => Array.from({ length: count }, (_, i) => `${tag}-${i}`)).sort();
    const assetsDir = path.join(home, 'no-assets');
    expect(new CredentialStore(home, new MemorySecrets()).list().map((c) => c.name).sort()).toEqual(names(rounds));
    expect(new Approvals(home, assetsDir).list().filter((a) => a.state === 'approved').map((a) => a.name).sort()).toEqual(names(rounds));
    expect(new OpenedAgents({ home, assetsDir }).list().map((a) => a.name).sort()).toEqual(names(opened));
    // Each change was atomic and under the lock: no temp file or lock is left behind.
    expect(fs.readdirSync(home).filter((f) => /\.(tmp|lock)$/.test(f))).toEqual([]);
  });
});
