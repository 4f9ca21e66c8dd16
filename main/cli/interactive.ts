/**
 * `airlock run -it`: this terminal becomes the agent's. Raw mode on (Ctrl-C and every key go to the
 * tool), the window's size follows it, its output comes back through TerminalOutputFilter. The
 * one thing the tool never sees is the escape: Ctrl-] then `d` detaches (the task runs on in the
 * engine), Ctrl-] then `q` stops the task; Ctrl-] twice sends one Ctrl-], Ctrl-] then anything
 * else sends both. The terminal is given back as it was on every way out: the session's end, an
 * error, a signal, the engine going away.
 */
import type { TerminalFrame } from '../../preload/wire-types.js';
import { AirlockError } from '../core/errors.js';
import type { EngineClient } from '../core/server/client.js';
import { TerminalOutputFilter } from './terminal-filter.js';

/** Leaves the alternate screen; mouse, focus, bracketed paste and kitty keyboard modes off; cursor shown; colours reset. */
const RESET_MODES = '\x1b[?1049l\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1004l\x1b[?2004l\x1b[<u\x1b[?25h\x1b[0m';

/** Ctrl-]: the start of Airlock's own keys. */
export const ESCAPE_KEY = 0x1d;
/** The most one terminal.input call carries (the contract's bound). */
const INPUT_CHUNK = 64 * 1024;

export type SessionEnd = { how: 'ended' } | { how: 'detached' } | { how: 'stopped' } | { how: 'lost'; reason: string };

/** What -it needs: a terminal on both sides (a pipe has no size, no raw mode and no keys to read). */
export function checkInteractive(flags: { interactive?: boolean; tty?: boolean; json?: boolean; learn?: boolean; detach?: boolean }): void {
  if (!flags.interactive && !flags.tty) return;
  if (!flags.interactive || !flags.tty) throw new AirlockError('bad_argument', '-i and -t go together: an interactive session is a terminal the agent reads keys from', 'write -it (or --interactive --tty)');
  const clash = flags.json ? '--json' : flags.learn ? '--learn' : flags.detach ? '--detach' : undefined;
  if (clash) throw new AirlockError('bad_argument', `-it cannot be used with ${clash}`, 'run it without one of them');
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    throw new AirlockError('bad_argument', '-it needs a terminal: standard input and output must both be one', 'run it from a terminal, or without -it (the task\'s output is then in its log)');
  }
}

/** This terminal's size now. */
export function terminalSize(): { cols: number; rows: number } {
  return { cols: clampCells(process.stdout.columns), rows: clampCells(process.stdout.rows) };
}

function clampCells(n: number | undefined): number {
  return Math.min(1000, Math.max(1, Math.floor(n ?? 80) || 80));
}

/**
 * The keys typed, split into what goes to the tool and Airlock's own commands. Stateful: Ctrl-]
 * at the end of one read is matched with the next.
 */
export class EscapeKeys {
  #pending = false;

  /** The bytes for the tool, and a command if one was typed (the bytes before it are sent first). */
  feed(chunk: Uint8Array): { send: Buffer; command?: 'detach' | 'stop' } {
    const send: number[] = [];
    for (const byte of chunk) {
      if (this.#pending) {
        this.#pending = false;
        if (byte === 0x64 || byte === 0x44) return { send: Buffer.from(send), command: 'detach' };
        if (byte === 0x71 || byte === 0x51) return { send: Buffer.from(send), command: 'stop' };
        send.push(ESCAPE_KEY);
        if (byte !== ESCAPE_KEY) send.push(byte);
        continue;
      }
      if (byte === ESCAPE_KEY) this.#pending = true;
      else send.push(byte);
    }
    return { send: Buffer.from(send) };
  }
}

/**
 * Runs the session of `task` on this terminal until it ends, is detached or stopped, or the engine
 * goes. The task must have been started with a terminal; this client takes control of it.
 */
export async function runSession(client: EngineClient, task: string): Promise<SessionEnd> {
  const stdin = process.stdin;
  const stdout = process.stdout;
  const filter = new TerminalOutputFilter();
  const keys = new EscapeKeys();
  let finish!: (end: SessionEnd) => void;
  const ended = new Promise<SessionEnd>((resolve) => (finish = resolve));
  let over = false;
  const done = (end: SessionEnd) => {
    if (over) return;
    over = true;
    finish(end);
  };

  // Input goes in order, one call at a time; a refusal (the engine's bounds) rings the bell.
  let sending: Promise<void> = Promise.resolve();
  const send = (bytes: Buffer) => {
    for (let at = 0; at < bytes.length; at += INPUT_CHUNK) {
      const data = new Uint8Array(bytes.subarray(at, at + INPUT_CHUNK));
      sending = sending.then(() => client.call('terminal.input', { task, data })).catch(() => {
        if (!over) stdout.write('\x07');
      });
    }
  };

  const watch = async () => {
    await client.call('terminal.watch', task);
  };
  const unsubscribe = client.subscribe('terminal', (frame: TerminalFrame) => {
    if (frame.task !== task || over) return;
    if (frame.ended) return done({ how: 'ended' });
    // This terminal fell behind: watch again, from the scroll-back.
    if (frame.dropped) return void watch().catch(() => done({ how: 'ended' }));
    const shown = filter.filter(frame.data);
    if (shown.length > 0) {
      modesTouched = true;
      stdout.write(shown);
    }
  });
  const undoLost = client.onLost((reason) => done({ how: 'lost', reason }));

  const onKeys = (chunk: Buffer) => {
    const { send: bytes, command } = keys.feed(chunk);
    if (bytes.length > 0) send(bytes);
    if (command === 'detach') {
      if (client.mode === 'inprocess') {
        stdout.write('\r\n[airlock: cannot detach with AIRLOCK_ENGINE=inprocess: the task would end with this command; Ctrl-] q stops it]\r\n');
        return;
      }
      void client.call('tasks.detach', task).then(() => done({ how: 'detached' }), () => done({ how: 'ended' }));
    } else if (command === 'stop') {
      void client.call('tasks.stop', task).catch(() => undefined).finally(() => done({ how: 'stopped' }));
    }
  };
  const onResize = () => {
    void client.call('terminal.resize', { task, ...terminalSize() }).catch(() => undefined);
  };
  // A signal from outside (the window closed, `kill`): the terminal is restored before the task is stopped.
  const onSignal = () => void client.call('tasks.stop', task).catch(() => undefined).finally(() => done({ how: 'stopped' }));
  let modesTouched = false;
  const restore = () => {
    if (stdin.isTTY) stdin.setRawMode(false);
    // Whatever modes the tool switched on (alternate screen, mouse reports, bracketed paste, kitty
    // keys, hidden cursor) are switched off, so the shell the person returns to works as before.
    if (modesTouched) stdout.write(RESET_MODES);
    modesTouched = false;
  };

  try {
    await watch();
    await client.call('terminal.control', { task, take: true });
    stdin.setRawMode(true);
    process.on('exit', restore);
    stdin.on('data', onKeys);
    stdin.resume();
    stdout.on('resize', onResize);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
    onResize(); // the window may have changed since the task was asked for
    return await ended;
  } finally {
    over = true;
    restore();
    process.off('exit', restore);
    stdin.off('data', onKeys);
    stdin.pause();
    stdout.off('resize', onResize);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    unsubscribe();
    undoLost();
    if (filter.cut > 0) process.stderr.write(`\r\nairlock: ${filter.cut} escape sequence${filter.cut === 1 ? '' : 's'} the agent wrote for this terminal (clipboard, terminal reports) were cut\n`);
  }
}
