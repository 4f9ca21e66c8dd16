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
});
