import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { poolOptionsFromEnv, runsOnBattery } from '../../main/core/tasks/pool-options.js';
import { tempDir } from '../helpers/env.js';

function powerSupplies(supplies: Record<string, { type: string; status?: string }>): string {
  const dir = tempDir();
  for (const [name, { type, status }] of Object.entries(supplies)) {
    fs.mkdirSync(path.join(dir, name));
    fs.writeFileSync(path.join(dir, name, 'type'), `${type}\n`);
    if (status) fs.writeFileSync(path.join(dir, name, 'status'), `${status}\n`);
  }
  return dir;
}

describe('the engine\'s pool options', () => {
  it('AIRLOCK_POOL_SIZE sets the size (default 1); zero on battery', () => {
    expect(poolOptionsFromEnv({}, () => false)).toEqual({ size: 1 });
    expect(poolOptionsFromEnv({ AIRLOCK_POOL_SIZE: '3' }, () => false)).toEqual({ size: 3 });
    expect(poolOptionsFromEnv({ AIRLOCK_POOL_SIZE: '0' }, () => false)).toEqual({ size: 0 });
    expect(poolOptionsFromEnv({ AIRLOCK_POOL_SIZE: '3' }, () => true)).toEqual({ size: 0 });
  });

  it('refuses a size that is not a whole number from 0 to 8, naming the variable', () => {
    for (const bad of ['-1', '1.5', 'lots', '9', '1e3']) {
      expect(() => poolOptionsFromEnv({ AIRLOCK_POOL_SIZE: bad }, () => false)).toThrow(/AIRLOCK_POOL_SIZE/);
    }
  });

  it('on Linux, battery means a supply of type Battery that is Discharging', () => {
    expect(runsOnBattery('linux', powerSupplies({ AC: { type: 'Mains' }, BAT0: { type: 'Battery', status: 'Discharging' } }))).toBe(true);
    expect(runsOnBattery('linux', powerSupplies({ AC: { type: 'Mains' }, BAT0: { type: 'Battery', status: 'Charging' } }))).toBe(false);
    expect(runsOnBattery('linux', powerSupplies({ BAT0: { type: 'Battery' } }))).toBe(false);
    expect(runsOnBattery('linux', path.join(tempDir(), 'none'))).toBe(false);
    expect(runsOnBattery('win32')).toBe(false);
  });
});
