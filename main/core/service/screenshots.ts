/**
 * A task's screenshots, as the audit trail records them (`screen.capture` events), and their PNGs
 * read back from the task's folder. The trail is tamper-evident and the files are not, so a file
 * is handed out only when its sha256 is still the one its event recorded.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { queryAuditTrail } from '../audit/query.js';
import type { CaptureReason, ScreenshotInfo } from '../desktop/types.js';
import { AirlockError } from '../errors.js';

const REASONS: readonly CaptureReason[] = ['start', 'interval', 'navigation', 'control', 'final'];
/** Where the recorder keeps them: a relative path inside the task's folder, nothing else. */
const FILE = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_.-]+)*\.png$/;
const SHA256 = /^(?:sha256:)?([0-9a-f]{64})$/;

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;

/** The event's data as a ScreenshotInfo, or undefined when it is not one (nothing is guessed). */
export function screenshotFrom(data: Record<string, unknown>, recordedAt: string): ScreenshotInfo | undefined {
  const { index, reason, width, height, bytes, sha256, file, url, time } = data;
  if (!isCount(index) || index < 1 || !isCount(width) || !isCount(height) || !isCount(bytes)) return undefined;
  if (typeof reason !== 'string' || !REASONS.includes(reason as CaptureReason)) return undefined;
  if (typeof sha256 !== 'string' || !SHA256.test(sha256)) return undefined;
  if (typeof file !== 'string' || !FILE.test(file) || file.split('/').includes('..')) return undefined;
  return {
    index, time: typeof time === 'string' ? time : recordedAt, reason: reason as CaptureReason, width, height, bytes, sha256, file,
    ...(typeof url === 'string' ? { url } : {}),
  };
}

/** Every screenshot of a task, oldest first (one per index: a repeated index keeps the first). */
export async function listScreenshots(auditDir: string, task: string): Promise<ScreenshotInfo[]> {
  const shots = new Map<number, ScreenshotInfo>();
  for await (const record of queryAuditTrail(auditDir, { task, kinds: ['screen.capture'], order: 'asc' })) {
    const shot = screenshotFrom(record.data, record.time);
    if (shot && !shots.has(shot.index)) shots.set(shot.index, shot);
  }
  return [...shots.values()].sort((a, b) => a.index - b.index);
}

/**
 * The PNG of screenshot `index` of a task, whose folder is `taskDir`: refused when the trail has
 * no such screenshot, when the file is gone, or when it is not the file the trail recorded.
 */
export async function readScreenshot(auditDir: string, taskDir: string, task: string, index: number): Promise<Buffer> {
  const shot = (await listScreenshots(auditDir, task)).find((s) => s.index === index);
  if (!shot) throw new AirlockError('not_found', `task ${task} has no screenshot ${index} in the audit trail`, 'screen.shots lists the ones it has');
  const file = path.resolve(taskDir, shot.file);
  if (!file.startsWith(path.resolve(taskDir) + path.sep)) throw new AirlockError('policy_refused', `screenshot ${index} of ${task} names a file outside the task's folder`);
  let png: Buffer;
  try {
    png = await fs.promises.readFile(file);
  } catch (error) {
    throw new AirlockError('not_found', `screenshot ${index} of ${task} is gone (${shot.file}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      'its event in the audit trail still records what it was (sha256, size); the file itself was removed');
  }
  const actual = createHash('sha256').update(png).digest('hex');
  if (actual !== SHA256.exec(shot.sha256)![1]) {
    throw new AirlockError('policy_refused', `screenshot ${index} of ${task} was changed after it was taken: its sha256 is ${actual}, the audit trail recorded ${shot.sha256}`,
      `the file ${file} is not the screenshot the trail vouches for, so it is not shown`);
  }
  return png;
}
