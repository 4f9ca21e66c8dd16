// The warm pool never prepares a slot beside a task that is starting: a cold start comes first.
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../main/core/audit/bus.js';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { WarmPool } from '../../main/core/tasks/pool.js';
import { FakeClock } from '../helpers/fake-clock.js';

describe('the warm pool and a starting task', () => {
  it('puts its fill off while a task is starting, and fills once none is', async () => {
    const clock = new FakeClock();
    const bus = new EventBus(clock);
    const events: AirlockEvent[] = [];
    bus.subscribe((event) => events.push(event));
    let starting = true;
    let engineAsked = 0;
    // No real engine: asking for one is what preparing a slot begins with (it then fails and is recorded).
    const engine = () => {
      engineAsked += 1;
      throw new Error('no engine in this test');
    };
    const pool = new WarmPool({ engine: engine as never, bus, clock, assetsDir: '/nowhere', audit: () => undefined, busy: () => starting }, { size: 1, retryMs: 60_000 });
    pool.fill();
    clock.advance(1000);
    expect(engineAsked).toBe(0);
    expect(pool.state()).toEqual({ size: 1, ready: 0, filling: 0 });

    starting = false;
    clock.advance(250);
    await pool.settled();
    expect(engineAsked).toBe(1);
    expect(events.filter((e) => e.kind === 'pool.discarded').map((e) => e.data.reason)).toEqual([expect.stringMatching(/could not be prepared: no engine in this test/)]);
    await pool.close();
  });
});
