import { describe, expect, it } from 'vitest';
import { formatDuration, formatSize, parseDuration, parseSize } from '../../main/core/policy/units.js';

describe('durations', () => {
  it.each([['30s', 30_000], ['10m', 600_000], ['1h', 3_600_000], ['1h30m', 5_400_000], ['500ms', 500], ['1.5s', 1500]])('%s is %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
  it.each(['', '10', 'soon', '-5s', '0s', '5 minutes', 's'])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
  it('formats for people', () => {
    expect([formatDuration(250), formatDuration(1500), formatDuration(90_000), formatDuration(3_600_000)]).toEqual(['250ms', '1.5s', '1m30s', '1h']);
  });
});

describe('sizes', () => {
  it.each([['512m', 512 * 1024 ** 2], ['1g', 1024 ** 3], ['50MB', 50 * 1024 ** 2], ['64k', 65536], [4096, 4096], ['1.5g', 1.5 * 1024 ** 3]])('%s is %i bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });
  it.each(['lots', '', '12q', '-1m', 0, 1.5])('%j is not a size', (text) => {
    expect(parseSize(text)).toBeUndefined();
  });
  it('formats for people', () => {
    expect([formatSize(500), formatSize(2048), formatSize(512 * 1024 ** 2)]).toEqual(['500 B', '2.0 KiB', '512 MiB']);
  });
});
