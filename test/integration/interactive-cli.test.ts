/**
 * `airlock run -it` on a real pseudo-terminal: the agent's program gets a terminal of the CLI's
 * size that follows resizes, Ctrl-C reaches it (not the CLI), Airlock's own keys (Ctrl-] d / q)
 * never reach it, and the log records the session (started, resized, control, ended) without a
 * keystroke or a byte of its output.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../../main/core/engine/engine.js';
import { listTaskObjects } from '../../main/core/engine/leftovers.js';
import { enginesOf, stopEngine } from '../helpers/engine.js';
import { approve, runCli, tempDir, waitFor } from '../helpers/env.js';
import { startPtySession } from '../helpers/pty-session.js';

const dir = tempDir();
const home = path.join(dir, 'home');
const env = { AIRLOCK_HOME: home };

/** Says what terminal it has, echoes each line it reads (control characters made visible), reacts to SIGWINCH and SIGINT. */
const PROBE = [
  'trap \'echo "resized: $(stty size)"\' WINCH',
  'trap \'echo interrupted\' INT',
  'echo "tty: $(tty)"; echo "size: $(stty size)"; echo ready',
  'while true; do if IFS= read -r line; then echo "you typed: $line" | cat -v; [ "$line" = bye ] && exit 7; fi; done',
].join('; ');

function agent(name: string): string {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, `name: ${name}\ncommand: ["sh", "-c", ${JSON.stringify(PROBE)}]\nnetwork: { mode: none }\ntimeout: 2m\n`);
  approve(file, home);
  return file;
}

async function events(task: string): Promise<{ kind: string; actor: string; data: Record<string, unknown> }[]> {
  const log = await runCli(['log', task, '--json'], { env });
  expect(log.code).toBe(0);
  return log.stdout.trim().split('\n').map((line) => JSON.parse(line) as { kind: string; actor: string; data: Record<string, unknown> });
}

function taskIn(text: string): string {
  return /(t_[0-9a-hjkmnp-tv-z]{26})/.exec(text)![1]!;
}

describe('airlock run -it', () => {
  afterAll(async () => {
    await stopEngine(home);
  });

  it('gives the agent a terminal of the CLI\'s size that follows it; Ctrl-C reaches the tool; Ctrl-] q stops the task; the log has the session, never the keys', { timeout: 120_000 }, async () => {
    const session = startPtySession(['run', agent('tty-probe'), '-it'], { dir, env, cols: 100, rows: 30 });
    try {
      await session.waitFor('ready');
      expect(session.shown()).toMatch(/tty: \/dev\/pts\/\d+/);
      expect(session.shown()).toContain('size: 30 100');

      // A line typed (with a marker that must never be recorded), echoed by the agent's own terminal.
      session.type('hunter2-SECRET-MARKER\r');
      await session.waitFor('you typed: hunter2-SECRET-MARKER');
      let mark = session.shown().length;
      session.resize(120, 40);
      await session.waitFor('resized: 40 120', 30_000, mark);
      // Ctrl-C goes to the tool (its trap), the CLI and the task go on.
      session.type('\x03');
      await session.waitFor('interrupted');
      // Ctrl-] twice sends one; Ctrl-] then another key sends both.
      mark = session.shown().length;
      session.type('\x1d\x1dx\x1dy\r');
      await session.waitFor('you typed: ^]x^]y', 30_000, mark);
      // Ctrl-] q: the task is stopped; the tool never saw the q.
      mark = session.shown().length;
      session.type('\x1dq');
      expect(await session.exited).toBe(130);
      expect(session.shown().slice(mark)).not.toContain('you typed');
      // The person's terminal is handed back as it was: alternate screen left, mouse and paste modes off, cursor shown.
      expect(session.shown().slice(mark)).toContain('\x1b[?1049l\x1b[?1000l');
      expect(session.shown().slice(mark)).toContain('\x1b[?25h');
    } finally {
      session.kill();
    }
    const task = taskIn(session.shown());
    expect(session.shown()).toContain(`${task} cancelled`);
    expect((await listTaskObjects(Engine.connect())).filter((o) => o.task === task)).toEqual([]);

    const log = await events(task);
    // Not a keystroke anywhere in the trail: not in an event, not in a file of the audit folder.
    const trail = fs.readdirSync(path.join(home, 'audit'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
      .map((e) => fs.readFileSync(path.join(e.parentPath, e.name), 'latin1')).join('');
    expect(trail).toContain(task);
    expect(trail).not.toContain('SECRET-MARKER');
    expect(JSON.stringify(log)).not.toContain('SECRET-MARKER');
    const kinds = log.map((e) => e.kind);
    expect(log.find((e) => e.kind === 'terminal.started')?.data).toEqual({ cols: 100, rows: 30 });
    // stty sets columns, then rows: one resize each, the last one the window's size.
    expect(log.filter((e) => e.kind === 'terminal.resized').at(-1)).toMatchObject({ actor: 'user', data: { cols: 120, rows: 40 } });
    expect(log.filter((e) => e.kind === 'terminal.control').map((e) => e.data)).toEqual([{ taken: true, by: 'cli' }, { taken: false, by: 'cli', reason: 'the task ended' }]);
    const ended = log.find((e) => e.kind === 'terminal.ended')!.data as { bytesIn: number; bytesOut: number };
    expect(ended.bytesIn).toBeGreaterThan(20);
    expect(ended.bytesOut).toBeGreaterThan(50);
    expect(kinds).toContain('task.cancelled');
    expect(kinds).not.toContain('proc.stdout');
  });

  it('Ctrl-] d detaches: the CLI exits 0, the task runs on (airlock ps), and another airlock stops it', { timeout: 120_000 }, async () => {
    const session = startPtySession(['run', agent('tty-detach'), '-it'], { dir, env, cols: 80, rows: 24 });
    let task: string;
    try {
      await session.waitFor('ready');
      session.type('\x1dd');
      expect(await session.exited).toBe(0);
      expect(session.shown()).toMatch(/detached: t_\w+ runs on/);
      task = taskIn(session.shown());
    } finally {
      session.kill();
    }
    const ps = await runCli(['ps', '--json'], { env });
    expect(ps.stdout).toContain(task);
    const stopped = await runCli(['stop', task], { env });
    expect(stopped.code).toBe(0);
    const log = await events(task);
    expect(log.map((e) => e.kind)).toContain('task.cancelled');
    expect(log.filter((e) => e.kind === 'terminal.control').map((e) => e.data)).toEqual([{ taken: true, by: 'cli' }, { taken: false, by: 'cli' }]);
  });

  it('the engine killed under a session: the CLI says so and exits, and the sandbox stops on its own', { timeout: 120_000 }, async () => {
    const session = startPtySession(['run', agent('tty-orphan'), '-it'], { dir, env, cols: 80, rows: 24 });
    try {
      await session.waitFor('ready');
      const task = (await listTaskObjects(Engine.connect())).find((o) => o.agent === 'tty-orphan' && o.containers.some((c) => c.state === 'running'))!.task;
      const running = async () => ((await listTaskObjects(Engine.connect())).find((t) => t.task === task)?.containers ?? []).filter((c) => c.state === 'running');
      for (const pid of enginesOf(home)) process.kill(pid, 'SIGKILL');
      expect(await session.exited).toBe(125);
      expect(session.shown()).toMatch(/the Airlock engine went away/);
      await waitFor(async () => ((await running()).length === 0 ? true : undefined), 'the sandbox to stop on its own', 15_000);
      // What the killed engine left is removed by the next one.
      expect((await runCli(['gc'], { env })).code).toBe(0);
      expect((await listTaskObjects(Engine.connect())).filter((o) => o.task === task)).toEqual([]);
    } finally {
      session.kill();
    }
  });

  it('refuses -it without a terminal, and -i or -t alone, before anything starts', async () => {
    const file = agent('tty-refused');
    const piped = await runCli(['run', file, '-it'], { env });
    expect(piped.code).toBe(125);
    expect(piped.stderr).toMatch(/-it needs a terminal/);
    const half = await runCli(['run', file, '-t'], { env });
    expect(half.code).toBe(125);
    expect(half.stderr).toMatch(/-i and -t go together/);
  });
});
