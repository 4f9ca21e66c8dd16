import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { AirlockError } from '../errors.js';
import type { PoolOptions } from './pool.js';

/** The engine's pool when AIRLOCK_POOL_SIZE does not say: one slot (the commonest case: one run at a time). */
export const DEFAULT_POOL_SIZE = 1;
/** More would only hold memory and processes for runs that rarely come at once. */
const MAX_POOL_SIZE = 8;

/**
 * The engine process's pool: AIRLOCK_POOL_SIZE (0 to 8; default 1), and none on battery where
 * the OS tells (a prepared sandbox holds a few processes; a laptop should not keep them warm).
 */
export function poolOptionsFromEnv(env: NodeJS.ProcessEnv, onBattery: () => boolean = runsOnBattery): PoolOptions {
  const text = env.AIRLOCK_POOL_SIZE?.trim();
  let size = DEFAULT_POOL_SIZE;
  if (text !== undefined && text !== '') {
    if (!/^\d+$/.test(text) || Number(text) > MAX_POOL_SIZE) {
      throw new AirlockError('bad_argument', `AIRLOCK_POOL_SIZE: ${JSON.stringify(text.slice(0, 40))} is not a whole number from 0 to ${MAX_POOL_SIZE}`, 'set AIRLOCK_POOL_SIZE=0 for no pool, or e.g. 2');
    }
    size = Number(text);
  }
  return { size: size > 0 && onBattery() ? 0 : size };
}

/**
 * Whether this machine runs on battery now, as far as the OS tells: Linux, a power supply of type
 * Battery that is Discharging; macOS, `pmset -g batt` saying so. Anywhere else, or when the
 * question cannot be answered, no.
 */
export function runsOnBattery(platform: NodeJS.Platform = process.platform, powerSupplies = '/sys/class/power_supply'): boolean {
  try {
    if (platform === 'linux') {
      return fs.readdirSync(powerSupplies).some((name) => {
        const read = (file: string) => fs.readFileSync(path.join(powerSupplies, name, file), 'utf8').trim();
        try {
          return read('type') === 'Battery' && read('status') === 'Discharging';
        } catch {
          return false;
        }
      });
    }
    if (platform === 'darwin') {
      return /'Battery Power'/.test(execFileSync('pmset', ['-g', 'batt'], { encoding: 'utf8', timeout: 2000 }));
    }
  } catch {
    // no power supply information: not detected
  }
  return false;
}
