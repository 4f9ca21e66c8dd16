/**
 * The engine's log: timestamped lines on its standard error, which a background engine has
 * opened on $AIRLOCK_HOME/engine.log (append). Bounded: past `maxBytes` the file is copied to
 * engine.log.1 and emptied in place (the descriptor stays valid, so the process's own crash
 * output still lands in it).
 */
import fs from 'node:fs';
import type { Log } from './dispatch.js';

export const ENGINE_LOG_MAX_BYTES = 4 * 1024 * 1024;

export function engineLog(logFile: string, options: { fd?: number; maxBytes?: number; now?: () => Date } = {}): Log {
  const fd = options.fd ?? 2;
  const maxBytes = options.maxBytes ?? ENGINE_LOG_MAX_BYTES;
  const now = options.now ?? (() => new Date());
  const rotateIfLarge = () => {
    try {
      const out = fs.fstatSync(fd);
      if (!out.isFile() || out.size < maxBytes) return;
      const file = fs.statSync(logFile);
      if (file.ino !== out.ino || file.dev !== out.dev) return; // our stderr is not the engine's log
      fs.copyFileSync(logFile, `${logFile}.1`);
      fs.ftruncateSync(fd, 0);
    } catch {
      // a log that cannot rotate keeps being written; nothing here may stop the engine
    }
  };
  return (message, error) => {
    rotateIfLarge();
    const detail = error === undefined ? '' : `: ${(error as Error)?.stack ?? String(error)}`;
    try {
      fs.writeSync(fd, `${now().toISOString()} ${message}${detail}\n`);
    } catch {
      // a closed log is not a reason to stop serving
    }
  };
}
