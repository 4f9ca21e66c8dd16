import { describe, expect, it } from 'vitest';
import { harness, specFrom } from '../helpers/env.js';

describe('an agent that prints a gigabyte', () => {
  it('does not grow Airlock\'s memory: lines are bounded, the rest is counted, output.truncated says so', async () => {
    const { root, events, runner } = harness();
    // 512 MiB as one line without a newline, then 512 MiB of short lines.
    const spec = specFrom(root, `
name: flood
command: ["sh", "-c", "head -c 536870912 /dev/zero | tr '\\\\0' a; echo; yes 'flood line' | head -c 536870912; echo done >&2"]
timeout: 5m
`);
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    const outcome = await runner.run(spec);
    clearInterval(sampler);

    expect(outcome.exitCode).toBe(0);
    expect(peak - before).toBeLessThan(200 * 1024 * 1024);
    const first = events.find((e) => e.kind === 'proc.stdout');
    expect(String(first?.data.line)).toHaveLength(16 * 1024);
    expect(first?.data.cutBytes).toBe(536870912 - 16 * 1024);
    const truncated = events.filter((e) => e.kind === 'output.truncated');
    expect(truncated[0]?.data.reason).toMatch(/budget/);
    expect(Number(truncated.at(-1)?.data.droppedBytes)).toBeGreaterThan(400 * 1024 * 1024);
    const recorded = events.filter((e) => e.kind === 'proc.stdout' || e.kind === 'proc.stderr');
    expect(recorded.length).toBeLessThanOrEqual(100_000);
  }, 300_000);
});
