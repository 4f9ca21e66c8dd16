// All CLI output goes through here, so a reader that goes away (`airlock log | head`) ends the
// output quietly instead of crashing the process — and a running task is still torn down properly.
let closed = false;

process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  closed = true;
});

/** Writes to standard output; returns false once nobody is reading any more. */
export function out(text: string): boolean {
  if (closed) return false;
  process.stdout.write(text);
  return !closed;
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

/** `--json` listings: one JSON object per line. */
export function outJsonLines(items: readonly unknown[]): void {
  for (const item of items) if (!out(`${JSON.stringify(item)}\n`)) return;
}
