import { describe, expect, it } from 'vitest';
import { StallWatch, type StallInfo } from '../../main/core/desktop/stall-watch.js';
import { FakeClock } from '../helpers/fake-clock.js';

function setup() {
  const clock = new FakeClock(0);
  const screen = { changedAt: 1, connected: true, lastChangeAt() { return this.changedAt; } };
  const stalls: StallInfo[] = [];
  const watch = new StallWatch({ screen, clock, stallAfterMs: 10_000, onStalled: (info) => stalls.push(info) });
  return { clock, screen, stalls, watch };
}

describe('StallWatch', () => {
  it('reports page loads the screen does not show, once, and again only after the screen changed', () => {
    const { clock, screen, stalls, watch } = setup();
    watch.navigated('https://a.test/1');
    clock.advance(4_000);
    watch.navigated('https://a.test/2');
    clock.advance(6_000);
    expect(stalls).toEqual([{ url: 'https://a.test/1', pageLoads: 2, stillForMs: 10_000 }]);
    watch.navigated('https://a.test/3'); // the same stall
    clock.advance(20_000);
    expect(stalls).toHaveLength(1);
    screen.changedAt = 2;
    watch.navigated('https://a.test/4');
    clock.advance(10_000);
    expect(stalls.map((s) => s.url)).toEqual(['https://a.test/1', 'https://a.test/4']);
  });

  it('says nothing when the screen changes after a page load, or while it is being re-opened, or after stop', () => {
    const { clock, screen, stalls, watch } = setup();
    watch.navigated('https://a.test/1');
    clock.advance(3_000);
    screen.changedAt = 2;
    clock.advance(10_000);
    // A load after that change is waited on afresh.
    clock.advance(1_000);
    watch.navigated('https://a.test/2');
    clock.advance(5_000);
    screen.changedAt = 3;
    clock.advance(5_000);
    screen.connected = false;
    watch.navigated('https://a.test/3');
    clock.advance(10_000);
    screen.connected = true;
    watch.navigated('https://a.test/4');
    watch.stop();
    clock.advance(10_000);
    expect(stalls).toEqual([]);
  });
});
