/**
 * The engine's CLI channels under attack: a caller that names host files and settings the engine
 * must not take as they come, a client that goes away mid-task, and a second client acting on a
 * task another one started. Real core (createAirlock), real Docker, real audit trail.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contract } from '../../preload/contract.js';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { createAirlock, type Airlock } from '../../main/core/airlock.js';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import type { EngineClient } from '../../main/core/server/client.js';
import { engineOnlyContract } from '../../main/core/server/engine-contract.js';
import { createEngineHandlers } from '../../main/core/server/engine-handlers.js';
import { callerClient } from '../../main/core/server/inprocess-client.js';
import { approve, REPO, tempDir, waitFor } from '../helpers/env.js';

const NOT_HERE = () => {
  throw new Error('not an engine process');
};

let root: string;
let airlock: Airlock;
let table: ReturnType<typeof createEngineHandlers>;
const events: AirlockEvent[] = [];
const clients: EngineClient[] = [];

/** One more client of the same engine (a CLI's connection). */
function connect(): EngineClient {
  const client = callerClient(table, airlock.service);
  clients.push(client);
  return client;
}

function manifest(name: string, body: string): string {
  const file = path.join(root, `${name}.yaml`);
  fs.writeFileSync(file, `name: ${name}\n${body}\n`);
  approve(file, airlock.home.root);
  return file;
}

beforeAll(() => {
  root = tempDir('airlock-engine-cli-');
  airlock = createAirlock({ env: { ...process.env, AIRLOCK_HOME: path.join(root, 'home') }, assetsDir: path.join(REPO, 'assets'), user: 'tester' });
  airlock.bus.subscribe((event) => events.push(event));
  table = createEngineHandlers(airlock, { 'engine.status': NOT_HERE, 'engine.stop': NOT_HERE, 'engine.retire': NOT_HERE });
});

afterAll(async () => {
  for (const client of clients) await client.close();
  await airlock.close();
});

describe('tasks.start from a hostile caller', () => {
  it('refuses every untyped, relative, oversized or unknown value with bad_argument, starting nothing; then still serves', async () => {
    const caller = connect();
    const file = manifest('typed', 'command: ["sh", "-c", "echo ran"]\nnetwork: { mode: none }');
    const ok = { agent: file, attached: true };
    const hostile: [string, unknown][] = [
      ['a relative input path', { ...ok, inputs: [{ hostPath: 'secrets/id_rsa' }] }],
      ['a NUL in an input path', { ...ok, inputs: [{ hostPath: '/tmp/x\0/etc/shadow' }] }],
      ['a relative container path', { ...ok, inputs: [{ hostPath: root, containerPath: 'in/x' }] }],
      ['101 inputs', { ...ok, inputs: Array.from({ length: 101 }, () => ({ hostPath: root })) }],
      ['a relative output folder', { ...ok, outputDir: 'out' }],
      ['an agent that is a relative path', { ...ok, agent: '../../etc/passwd' }],
      ['an agent name with a newline', { ...ok, agent: 'typed\nforged' }],
      ['a duration as text', { ...ok, timeoutMs: '15m' }],
      ['a negative timeout', { ...ok, timeoutMs: -1 }],
      ['a fractional timeout', { ...ok, timeoutMs: 1.5 }],
      ['a timeout of centuries', { ...ok, timeoutMs: 1e20 }],
      ['a size as text', { ...ok, memoryBytes: '256m' }],
      ['a memory of an exbibyte', { ...ok, memoryBytes: 2 ** 60 }],
      ['a credential TTL of zero', { ...ok, credentials: [{ name: 'vendor-api', ttlMs: 0 }] }],
      ['an environment name with a dash', { ...ok, env: [{ name: 'A-B', value: '1' }] }],
      ['a network mode that does not exist', { ...ok, network: { mode: 'host' } }],
      ['an unknown field', { ...ok, privileged: true }],
      ['no attached flag', { agent: file }],
    ];
    for (const [what, request] of hostile) {
      await expect(caller.call('tasks.start', request as never), what).rejects.toMatchObject({ code: 'bad_argument' });
    }
    // Typed, but wrong for this manifest: the spec refuses it, naming the field.
    await expect(caller.call('tasks.start', { ...ok, inputs: [{ hostPath: root, containerPath: '/workspace/../etc' }] })).rejects.toMatchObject({ code: 'bad_manifest', message: expect.stringMatching(/to: \/etc is not inside the workspace/) as unknown });
    await expect(caller.call('tasks.start', { ...ok, inputs: [{ hostPath: '/var/run/docker.sock' }] })).rejects.toMatchObject({ code: 'policy_refused', message: expect.stringMatching(/sockets such as the Docker socket/) as unknown });
    expect(airlock.service.tasks()).toEqual([]);
    expect(events.filter((e) => e.kind === 'task.created')).toEqual([]);

    // The engine still serves a good request.
    const { task } = await caller.call('tasks.start', ok);
    await expect(caller.call('tasks.wait', task)).resolves.toMatchObject({ state: 'exited', exitCode: 0 });
  });

  it('never lets a window reach the channels that name host files', () => {
    for (const channel of Object.keys(engineOnlyContract)) expect(contract).not.toHaveProperty(channel);
  });

  it('opens and approves only a manifest the caller names absolutely and that loads; approves only what was opened', async () => {
    const caller = connect();
    await expect(caller.call('agents.openFile', 'agent.yaml' as never)).rejects.toMatchObject({ code: 'bad_argument' });
    await expect(caller.call('agents.openFile', '/etc/passwd')).rejects.toMatchObject({ code: 'bad_manifest' });
    await expect(caller.call('agents.approve', 'file:/etc/passwd', {})).rejects.toMatchObject({ code: 'not_found' });
    const file = path.join(root, 'newcomer.yaml');
    fs.writeFileSync(file, 'name: newcomer\ncommand: ["true"]\nnetwork: { mode: none }\n');
    expect(await caller.call('agents.inspect', file)).toMatchObject({ approval: 'unapproved', file });
    await expect(caller.call('tasks.start', { agent: file, attached: true })).rejects.toMatchObject({ code: 'policy_refused' });
    const opened = await caller.call('agents.openFile', file);
    expect(await caller.call('agents.approve', opened.id, {})).toMatchObject({ approval: 'approved' });
    expect(events.filter((e) => e.kind === 'approval.decided' && e.data.agent === 'newcomer')).toMatchObject([{ decision: { allow: true }, data: { by: 'tester', file } }]);
    expect((await caller.call('agents.registered')).find((a) => a.name === 'newcomer')).toMatchObject({ state: 'approved' });
  });
});

describe('a client that goes away, and a second client', () => {
  it('stops an attached task when its client goes; a detached one goes on until another client stops it', async () => {
    const file = manifest('sleeper', 'command: ["sh", "-c", "echo up; sleep 60"]\nnetwork: { mode: none }');
    const up = (task: string) => waitFor(async () => (events.some((e) => e.task === task && e.kind === 'proc.stdout' && e.data.line === 'up') ? true : undefined), 'the agent to start');
    const other = connect();

    const terminal = connect();
    const attached = (await terminal.call('tasks.start', { agent: file, attached: true })).task;
    await up(attached);
    await terminal.close(); // the terminal closed mid-task
    await expect(other.call('tasks.wait', attached)).resolves.toMatchObject({ state: 'cancelled' });
    expect(events.some((e) => e.task === attached && e.kind === 'task.cancelled')).toBe(true);

    const detaching = connect();
    const detached = (await detaching.call('tasks.start', { agent: file, attached: false })).task;
    await up(detached);
    await detaching.close();
    expect((await other.call('tasks.list')).find((t) => t.id === detached)).toMatchObject({ state: 'running', stopping: false });
    await other.call('tasks.stop', detached); // whoever started it
    await expect(other.call('tasks.wait', detached)).resolves.toMatchObject({ state: 'cancelled' });
    for (const task of [attached, detached]) expect((await listTaskObjects(airlock.engine())).filter((o) => o.task === task)).toEqual([]);
  });

  it('lets a second client answer the "ask" of a task the first one started; the answer is the person\'s, on the record', async () => {
    const file = manifest('asker', 'command: ["sh", "-c", "curl -s -o /dev/null -w \'%{http_code}\\\\n\' http://10.255.255.1/"]\nnetwork: { mode: allowlist, local: ["127.0.0.1:9"], onUnknownHost: ask, askTimeout: 30s }');
    const starter = connect();
    const answerer = connect();
    await answerer.call('approvals.attend', {}); // it answers asks (as an app window says it does); without one, the ask is denied at once
    const asked = new Promise<string>((resolve) => answerer.subscribe('approvals', (list) => {
      if (list[0]) resolve(list[0].id);
    }));
    const { task } = await starter.call('tasks.start', { agent: file, attached: true });
    const id = await asked;
    await answerer.call('approvals.answer', { id, answer: 'deny' });
    await expect(starter.call('approvals.denyUnasked', id)).rejects.toMatchObject({ code: 'not_found' }); // answered: nothing left to deny
    await expect(starter.call('tasks.wait', task)).resolves.toMatchObject({ state: 'exited', exitCode: 0 });
    expect(events.find((e) => e.task === task && e.kind === 'approval.decided')).toMatchObject({ decision: { allow: false, by: 'user' } });
    expect(events.some((e) => e.task === task && e.kind === 'proc.stdout' && e.data.line === '403')).toBe(true);
  });
});
