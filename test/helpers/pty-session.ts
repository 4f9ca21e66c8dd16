/**
 * The real CLI on a real pseudo-terminal, as a person at a terminal runs it: util-linux `script`
 * gives it a pty (stdin and stdout are TTYs), we type into script's stdin and read what the
 * terminal shows from its stdout. The window is resized as a terminal emulator does it: a new size
 * on the pty (stty -F), which sends the CLI SIGWINCH.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, TEST_ENGINE_ENV } from './env.js';

export interface PtySession {
  /** Keys, as typed (raw bytes: \r is Enter, \x03 Ctrl-C, \x1d Ctrl-]). */
  type(keys: string): void;
  /** What the terminal has shown so far (bytes as latin1, so escapes can be checked). */
  shown(): string;
  /** Waits until the terminal has shown `text` (or matches it) after what it showed at `from`. */
  waitFor(text: string | RegExp, timeoutMs?: number, from?: number): Promise<void>;
  /** Resizes the CLI's terminal window. */
  resize(cols: number, rows: number): void;
  exited: Promise<number | null>;
  kill(): void;
}

export function startPtySession(args: string[], options: { dir: string; env: NodeJS.ProcessEnv; cols: number; rows: number; cwd?: string }): PtySession {
  const pidFile = path.join(options.dir, `cli-${Date.now()}.pid`);
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const inner = `stty cols ${options.cols} rows ${options.rows}; echo $$ > '${pidFile}'; exec ${quoted}`;
  const child = spawn('script', ['-qfec', inner, '/dev/null'], { ...(options.cwd ? { cwd: options.cwd } : {}), env: { ...process.env, ...TEST_ENGINE_ENV, ...options.env, TERM: 'xterm-256color' } });
  let shown = '';
  child.stdout.on('data', (d: Buffer) => (shown += d.toString('latin1')));
  child.stderr.on('data', (d: Buffer) => (shown += d.toString('latin1')));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    type: (keys) => void child.stdin.write(Buffer.from(keys, 'latin1')),
    shown: () => shown,
    async waitFor(text, timeoutMs = 60_000, from = 0) {
      const deadline = Date.now() + timeoutMs;
      const seen = () => (typeof text === 'string' ? shown.indexOf(text, from) >= 0 : text.test(shown.slice(from)));
      while (!seen()) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the terminal did not show ${String(text)}; it shows:\n${shown}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    resize(cols, rows) {
      const pts = fs.readlinkSync(`/proc/${fs.readFileSync(pidFile, 'utf8').trim()}/fd/0`);
      spawnSync('stty', ['-F', pts, 'cols', String(cols), 'rows', String(rows)]);
    },
    exited,
    kill: () => child.kill('SIGKILL'),
  };
}
