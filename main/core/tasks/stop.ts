import fs from 'node:fs';
import path from 'node:path';
import type { HomeLayout } from '../home.js';

// `airlock stop` and `airlock resume` may run in another process than the task's owner: they
// leave a marker (stop: before killing the container), which the owner acts on.
const MARKER = 'stop-requested';

export function requestStop(home: HomeLayout, task: string): void {
  fs.mkdirSync(home.task(task), { recursive: true });
  fs.writeFileSync(path.join(home.task(task), MARKER), new Date().toISOString());
}

export function stopRequested(home: HomeLayout, task: string): boolean {
  return fs.existsSync(path.join(home.task(task), MARKER));
}

const RESUME = 'resume-requested';

/** `airlock resume` (or the app) asks the task's owner to unfreeze it. */
export function requestResume(home: HomeLayout, task: string): void {
  fs.mkdirSync(home.task(task), { recursive: true });
  fs.writeFileSync(path.join(home.task(task), RESUME), new Date().toISOString());
}

/** True once, when a resume was asked for since the last call. */
export function takeResumeRequest(home: HomeLayout, task: string): boolean {
  try {
    fs.rmSync(path.join(home.task(task), RESUME));
    return true;
  } catch {
    return false;
  }
}
