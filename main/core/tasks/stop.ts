import fs from 'node:fs';
import path from 'node:path';
import type { HomeLayout } from '../home.js';

// `airlock stop` may run in another process than the task's owner: it leaves a marker before it
// kills the container, so the owner reports "cancelled by the user" rather than a crash.
const MARKER = 'stop-requested';

export function requestStop(home: HomeLayout, task: string): void {
  fs.mkdirSync(home.task(task), { recursive: true });
  fs.writeFileSync(path.join(home.task(task), MARKER), new Date().toISOString());
}

export function stopRequested(home: HomeLayout, task: string): boolean {
  return fs.existsSync(path.join(home.task(task), MARKER));
}
