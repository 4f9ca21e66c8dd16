import { describe, expect, it } from 'vitest';
import { TaskCa } from '../../main/core/credentials/task-ca.js';

describe('a task CA\'s leaf certificates', () => {
  it('are minted at most perMinute a minute (refused before minting), and only the last `cached` are kept', async () => {
    let now = 1_000_000;
    const ca = await TaskCa.create('t_ca', 60_000, { limits: { perMinute: 5, cached: 3 }, now: () => now });
    const first = await ca.contextFor('a.test');
    expect(await ca.contextFor('a.test')).toBe(first); // cached: no mint
    for (const host of ['b.test', 'c.test', 'd.test', 'e.test']) await ca.contextFor(host);
    await expect(ca.contextFor('f.test')).rejects.toMatchObject({ code: 'rate.certificates' });
    now += 60_000;
    // a.test was the least recently used of four, with room for three: it is made again.
    expect(await ca.contextFor('a.test')).not.toBe(first);
    const e = await ca.contextFor('e.test');
    expect(await ca.contextFor('e.test')).toBe(e);
  });
});
