import { jsonText, terminalSafe } from './terminal-text.js';

// All CLI output goes through here, so a reader that goes away (`airlock log | head`) ends the
// output quietly instead of crashing the process — and a running task is still torn down properly.
// It is also the sink where control characters stop (terminal-text.ts): only newlines and
// Airlock's own colours reach the terminal as they are.
let closed = false;
let stderrClosed = false;

process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  closed = true;
});
// The same for standard error (`airlock run … 2>&1 | head`): an unhandled EPIPE there would be an
// uncaught exception, and every report of it another write to the closed pipe.
process.stderr.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  stderrClosed = true;
});

/** Writes to standard output; returns false once nobody is reading any more. */
export function out(text: string): boolean {
  if (closed) return false;
  process.stdout.write(terminalSafe(text));
  return !closed;
}

/**
 * Bytes that must stay exactly as stored (an audit export piped to a file still verifies): as they
 * are when standard output is a file or a pipe, made safe like everything else on a terminal.
 */
export function outExact(text: string): boolean {
  if (closed) return false;
  process.stdout.write(process.stdout.isTTY ? terminalSafe(text) : text);
  return !closed;
}

/** Writes to standard error, through the same sink. */
export function err(text: string): void {
  if (!stderrClosed) process.stderr.write(terminalSafe(text));
}

export function stdoutClosed(): boolean {
  return closed;
}

/** Resolves when standard output can take more (or is closed), for long exports. */
export function whenDrained(): Promise<void> {
  if (closed || !process.stdout.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      process.stdout.off('drain', done);
      process.stdout.off('error', done);
      resolve();
    };
    process.stdout.once('drain', done);
    process.stdout.once('error', done);
  });
}

/** `--json` output: one JSON value per line, safe on a terminal (terminal-text.ts jsonText). */
export function outJson(value: unknown): boolean {
  return out(`${jsonText(value)}\n`);
}

/** `--json` listings: one JSON object per line. */
export function outJsonLines(items: readonly unknown[]): void {
  for (const item of items) if (!outJson(item)) return;
}
