import { describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { EventRenderer } from '../../main/cli/render.js';

// `airlock log` renders whatever the trail holds; a record someone without the key edited can have
// any shape. Each is shown (as it is, if need be); none ends the log.
const record = (kind: string, data: unknown, time: unknown = '2026-12-01T12:00:00.000Z') =>
  ({ n: 1, time, task: 't_x', agent: { name: 'a', digest: '' }, actor: 'airlock', kind, data }) as unknown as AirlockEvent;

describe('the CLI\'s event lines against hand-edited records', () => {
  const renderer = new EventRenderer({ color: false });

  it('lists that are not lists are shown as text', () => {
    expect(renderer.render(record('audit.tamper', { findings: 'one finding', continuesAt: 7 }))).toContain('tampered with: one finding');
    expect(renderer.render(record('audit.retention', { keepDays: 30 }))).toContain('removed 0 segment(s)');
    expect(renderer.render(record('cred.granted', { credential: 'k', hosts: { a: 1 } }))).toContain('lent k for [object Object]');
  });

  it('a record of a known kind in a shape no line expects is shown as it is', () => {
    expect(renderer.render(record('task.exited', null))).toBe('12:00:00.000 · task.exited null');
    expect(renderer.render(record('screen.started', { width: 1 }, 42))).toMatch(/^ · screen\.started /);
  });

  it('the warm pool\'s records read as what happened to the task\'s sandbox', () => {
    expect(renderer.render(record('pool.claimed', { ageMs: 2300, agent: 'a' }))).toBe('12:00:00.000 · took a prepared sandbox from the warm pool (made 2.3s before)');
    expect(renderer.render(record('pool.discarded', { reason: 'its image name now points to another image' }))).toContain('a prepared sandbox discarded: its image name now points to another image');
  });

  it('a model call reads as its usage, cost and the totals; damaged figures as NaN', () => {
    const usage = { provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 12, outputTokens: 8, cachedTokens: 0, costUsd: 0.000156, totals: { task: { tokens: 20, usd: 0.000156, requests: 1 }, chain: { tokens: 60, usd: 0.0005, requests: 3 } } };
    expect(renderer.render(record('model.usage', usage))).toBe('12:00:00.000 $ anthropic claude-sonnet-4-5: 12 in (0 cached) / 8 out, $0.0002 · task 20 tokens $0.0002 · chain 60 tokens $0.0005');
    expect(renderer.render(record('model.usage', { ...usage, costUsd: null, inputTokens: 'x', totals: 7 }))).toContain('NaN in (0 cached) / 8 out, no price · task NaN tokens $NaN');
  });
});
