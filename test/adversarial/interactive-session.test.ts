/**
 * Interactive sessions under attack, for real: agents in real TTY sandboxes, the real engine, the
 * built CLI on a real pseudo-terminal, hostile peers on the engine's socket.
 * - An agent that writes escape sequences meant for the host terminal (OSC 52 clipboard, title
 *   reports typed back, DECRQSS): the person's terminal never gets them; colours and a title do.
 * - A client that never took control (a second CLI, a page of the app) cannot type into the
 *   agent, cannot resize it, cannot take control from the CLI that holds it.
 * - An agent that floods its terminal while a watcher does not read: that watcher loses its watch
 *   with a note (and may watch again, from a bounded scroll-back) instead of the engine holding
 *   the flood for it; the engine stays small and serves everyone else.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TerminalFrame } from '../../preload/contract.js';
import { openSocketClient } from '../../main/core/server/socket-client.js';
import { engineEndpoint } from '../../main/core/server/endpoint.js';
import { encodeMessage, decodeMessage, LineSplitter, MAX_ENGINE_LINE_BYTES, PROTOCOL } from '../../main/core/server/wire.js';
import { SCROLLBACK_BYTES } from '../../main/core/tasks/task-terminal.js';
import { enginesOf, stopEngine, testClient } from '../helpers/engine.js';
import { approve, runCli, tempDir, waitFor } from '../helpers/env.js';
import { startPtySession } from '../helpers/pty-session.js';

const dir = tempDir('airlock-interactive-');
const home = path.join(dir, 'home');
const env = { AIRLOCK_HOME: home };

function agent(name: string, script: string): string {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, `name: ${name}\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\nnetwork: { mode: none }\ntimeout: 2m\n`);
  approve(file, home);
  return file;
}

/** A client of the engine as the app or a second CLI is: it says what it is in its hello. */
async function clientAs(name: 'cli' | 'app') {
  const opened = await openSocketClient(engineEndpoint(home), { build: 'test', name });
  if (!opened.client) throw new Error('the engine speaks another protocol');
  return opened.client;
}

/** Writes what a hostile agent writes for its watcher's terminal, then echoes each line it reads. */
const ESCAPES = [
  "printf 'clip:\\033]52;c;cm0gLXJmIH4K\\007|'",           // OSC 52: write the host's clipboard
  "printf 'clip2:\\033]52;c;?\\033\\\\|'",                  // OSC 52: read it back (ST-terminated)
  "printf 'report:\\033[21t|'",                            // report the title: typed back into the tool
  "printf 'dcs:\\033P$qm\\033\\\\|'",                       // DECRQSS: the answer is typed back
  "printf 'c1:\\302\\23552;c;aGk=\\007|'",                // OSC 52 as a UTF-8 encoded C1 control
  "printf 'ok:\\033[31mred\\033[0m\\033]0;my title\\007|'", // colours and a title: what a TUI needs
  'echo; echo ready',
  'while true; do IFS= read -r line && echo "you typed: $line"; done',
].join('; ');

describe('an interactive session under attack', () => {
  afterAll(async () => {
    await stopEngine(home);
  });

  it('the person\'s terminal gets the agent\'s colours and title, never its clipboard writes or the reports it would have typed back; a client that did not take control cannot type, resize or take it', { timeout: 120_000 }, async () => {
    const session = startPtySession(['run', agent('escaper', ESCAPES), '-it'], { dir, env, cols: 90, rows: 25 });
    let app: Awaited<ReturnType<typeof clientAs>> | undefined;
    let secondCli: Awaited<ReturnType<typeof clientAs>> | undefined;
    try {
      await session.waitFor('ready');
      app = await clientAs('app');
      secondCli = await clientAs('cli');
      const shown = session.shown();
      expect(shown).toContain('ok:\x1b[31mred\x1b[0m\x1b]0;my title\x07|');
      expect(shown).toMatch(/clip:\|clip2:\|report:\|dcs:\|c1:\|/);
      expect(shown).not.toContain(']52;');
      expect(shown).not.toContain('\x1b[21t');
      expect(shown).not.toContain('\x1bP');
      expect(shown).not.toContain('\xc2\x9d');

      const task = ((await app.call('tasks.list')).find((t) => t.agent === 'escaper'))!.id;
      expect((await app.call('tasks.list')).find((t) => t.id === task)?.terminal).toMatchObject({ cols: 90, rows: 25, control: 'cli' });
      // Watching is allowed; typing, resizing and taking control are not.
      expect(await app.call('terminal.watch', task)).toEqual({ cols: 90, rows: 25 });
      for (const client of [app, secondCli]) {
        await expect(client.call('terminal.input', { task, data: new TextEncoder().encode('INJECTED\r') })).rejects.toMatchObject({ code: 'policy_refused' });
        await expect(client.call('terminal.resize', { task, cols: 10, rows: 5 })).rejects.toMatchObject({ code: 'policy_refused' });
        await expect(client.call('terminal.control', { task, take: true })).rejects.toMatchObject({ code: 'policy_refused', message: expect.stringMatching(/another client has control/) });
      }
      // The CLI that holds control still types; what the others sent never reached the agent.
      session.type('mine\r');
      await session.waitFor('you typed: mine');
      expect(session.shown()).not.toContain('INJECTED');
      session.type('\x1dq');
      expect(await session.exited).toBe(130);
      expect(session.shown()).toMatch(/5 escape sequences the agent wrote for this terminal .* were cut/);

      const log = (await runCli(['log', task, '--json'], { env })).stdout;
      expect(log.match(/"kind":"terminal.control"/g)).toHaveLength(2); // the CLI's take and its end; no refused attempt took it
      expect(log).toContain('"kind":"terminal.started"');
    } finally {
      session.kill();
      await app?.close();
      await secondCli?.close();
    }
  });

  it('a flood while a watcher does not read: that watcher loses its watch with a note and gets the bounded scroll-back again; the engine stays small and serves others', { timeout: 120_000 }, async () => {
    const flooder = agent('flooder', 'echo started; exec yes "a hostile agent floods its terminal"');
    expect((await runCli(['engine', 'start'], { env })).code).toBe(0);
    const starter = await testClient(home);
    let socket: net.Socket | undefined;
    try {
      const { task } = await starter.call('tasks.start', { agent: flooder, attached: true, terminal: { cols: 80, rows: 24 } });
      await waitFor(async () => ((await starter.call('tasks.list')).find((t) => t.id === task)?.state === 'running' ? true : undefined), 'the flooder to run');
      const [pid] = enginesOf(home);
      const rssBefore = rssOf(pid!);

      // A watcher that says hello, watches, then reads nothing.
      socket = net.createConnection(engineEndpoint(home).socket);
      const lines: unknown[] = [];
      const splitter = new LineSplitter(MAX_ENGINE_LINE_BYTES, (line) => lines.push(decodeMessage(line)), () => undefined);
      socket.on('data', (chunk: Buffer) => splitter.push(chunk));
      socket.write(`${encodeMessage({ hello: { protocol: PROTOCOL, build: 'test', client: 'app' } })}\n${encodeMessage({ id: 1, channel: 'terminal.watch', args: [task] })}\n`);
      await waitFor(async () => (lines.some((m) => (m as { id?: number }).id === 1) ? true : undefined), 'the watch to be answered');
      socket.pause();
      // Meanwhile the engine answers others at once, and does not grow with the flood.
      for (let i = 0; i < 10; i++) {
        const asked = Date.now();
        await starter.call('engine.status');
        expect(Date.now() - asked).toBeLessThan(2000);
        await new Promise((r) => setTimeout(r, 400));
      }
      expect(rssOf(pid!) - rssBefore).toBeLessThan(120 * 1024 * 1024);

      // The watcher reads again: its watch ended with a note, and the connection is still served.
      socket.resume();
      const frames = () => lines.filter((m): m is { push: string; payload: TerminalFrame } => (m as { push?: string }).push === 'terminal').map((m) => m.payload);
      await waitFor(async () => (frames().some((f) => f.dropped) ? true : undefined), 'the note that the watch was dropped');
      const afterNote = frames().findIndex((f) => f.dropped);
      await new Promise((r) => setTimeout(r, 500));
      expect(frames().slice(afterNote + 1)).toEqual([]); // nothing more is pushed to it
      socket.write(`${encodeMessage({ id: 2, channel: 'terminal.watch', args: [task] })}\n`);
      await waitFor(async () => (frames().length > afterNote + 1 ? true : undefined), 'the scroll-back on watching again');
      const scrollback = frames()[afterNote + 1]!;
      expect(scrollback.data.byteLength).toBeGreaterThan(0);
      expect(scrollback.data.byteLength).toBeLessThanOrEqual(SCROLLBACK_BYTES);
      expect(Buffer.from(scrollback.data).toString()).toContain('a hostile agent floods its terminal');

      await starter.call('tasks.stop', task);
      const end = await starter.call('tasks.wait', task);
      expect(end.state).toBe('cancelled');
      const log = (await runCli(['log', task, '--json'], { env })).stdout;
      const ended = log.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { kind: string; data: { bytesOut?: number } }).find((e) => e.kind === 'terminal.ended');
      expect(ended?.data.bytesOut).toBeGreaterThan(8 * 1024 * 1024); // it did flood
      expect(log).not.toContain('"kind":"proc.stdout"');
    } finally {
      socket?.destroy();
      await starter.close();
    }
  });
});

function rssOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}
