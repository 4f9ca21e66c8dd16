import { describe, expect, it } from 'vitest';
import { KeptScreen, type ContainerState, type ScreenConnection } from '../../main/core/desktop/kept-screen.js';
import type { ScreenFrame } from '../../main/core/desktop/types.js';
import { AirlockError } from '../../main/core/errors.js';
import { ManualClock } from '../helpers/manual-clock.js';

/** A screen session the test ends, silences or answers at will. */
class FakeSession implements ScreenConnection {
  readonly width = 1280;
  readonly height = 800;
  readonly stats = { bytesReceived: 100 };
  readonly ended: Promise<AirlockError | undefined>;
  readonly watchers = new Set<(frame: ScreenFrame) => void>();
  pings = 0;
  closed = false;
  answersPings = true;
  end!: () => void;

  constructor() {
    this.ended = new Promise((resolve) => (this.end = () => resolve(new AirlockError('internal', 'the live screen stream ended'))));
  }

  watch(listener: (frame: ScreenFrame) => void): () => void {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  capture() {
    return Promise.resolve({ png: Buffer.from('png'), width: this.width, height: this.height });
  }

  lastChangeAt(): number {
    return 0;
  }

  input(): void {}

  ping(): void {
    this.pings += 1;
    if (this.answersPings) this.stats.bytesReceived += 20;
  }

  close(): void {
    this.closed = true;
  }
}

function setup(state: () => ContainerState = () => 'running') {
  const clock = new ManualClock();
  const sessions: FakeSession[] = [];
  const log: string[] = [];
  const screen = new KeptScreen({
    clock,
    open: async () => {
      const session = new FakeSession();
      sessions.push(session);
      return session;
    },
    containerState: async () => state(),
    onOpened: ({ reopened }) => log.push(`opened ${reopened}`),
    onOpenFailed: (error, retryInMs) => log.push(`failed ${error.message} ${retryInMs}`),
    onLost: ({ reason, losses, retryInMs }) => log.push(`lost ${losses} (${reason}) retry ${retryInMs}`),
  });
  return { clock, sessions, log, screen };
}

describe('a kept screen', () => {
  it('re-opens a session that ends while the container runs, with backoff: a kill loop costs a few attempts a minute', async () => {
    const { clock, sessions, log, screen } = setup();
    await screen.start();
    // The agent kills every new session at once, for two minutes.
    for (let t = 0; t < 120_000; t += 250) {
      sessions.at(-1)!.end();
      await clock.advance(250);
    }
    expect(log.slice(0, 5)).toEqual([
      'opened 0', 'lost 1 (its session ended: the live screen stream ended) retry 1000', 'opened 1', 'lost 2 (its session ended: the live screen stream ended) retry 2000', 'opened 2',
    ]);
    expect(log.filter((l) => l.startsWith('lost')).map((l) => Number(/retry (\d+)/.exec(l)![1]))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(sessions.length).toBeLessThanOrEqual(9);
    expect(sessions.slice(0, -1).every((s) => s.closed)).toBe(true);
    screen.close();
  });

  it('does not count a session that ended with its container (the task ending)', async () => {
    let state: ContainerState = 'running';
    const { clock, sessions, log, screen } = setup(() => state);
    await screen.start();
    state = 'gone';
    sessions[0]!.end();
    await clock.advance(60_000);
    expect(log).toEqual(['opened 0']);
    expect(sessions).toHaveLength(1);
  });

  it('pings a silent screen, and gives up a stopped one (not a paused one) as lost', async () => {
    let state: ContainerState = 'running';
    const { clock, sessions, log, screen } = setup(() => state);
    await screen.start();
    await clock.advance(30_000);
    expect(sessions[0]!.pings).toBeGreaterThan(0);
    expect(log).toEqual(['opened 0']); // an idle screen answers its pings
    state = 'paused';
    sessions[0]!.answersPings = false;
    await clock.advance(60_000);
    expect(log).toEqual(['opened 0']); // frozen by Airlock: silence is expected
    state = 'running';
    await clock.advance(14_000);
    expect(log.slice(1)).toEqual([expect.stringMatching(/^lost 1 \(it stopped answering for \d+ s\) retry 1000$/), 'opened 1']);
    expect(sessions[0]!.closed).toBe(true);
    screen.close();
  });

  it('keeps the live view\'s watchers across sessions, and starts the backoff afresh after a stable minute', async () => {
    const { clock, sessions, log, screen } = setup();
    await screen.start();
    const seen: ScreenFrame[] = [];
    screen.watch((frame) => seen.push(frame));
    sessions[0]!.end();
    await clock.advance(5_000);
    expect(sessions[1]!.watchers.size).toBe(1);
    await clock.advance(61_000);
    sessions[1]!.end();
    await clock.advance(2_000);
    expect(log.filter((l) => l.startsWith('lost'))).toEqual(['lost 1 (its session ended: the live screen stream ended) retry 1000', 'lost 2 (its session ended: the live screen stream ended) retry 1000']);
    screen.close();
  });

  it('does not retry a desktop that is not in the image', async () => {
    const clock = new ManualClock();
    const log: string[] = [];
    let opens = 0;
    const screen = new KeptScreen({
      clock, containerState: async () => 'running',
      open: async () => {
        opens += 1;
        throw new AirlockError('image_missing', 'the task\'s image has no desktop');
      },
      onOpened: () => log.push('opened'), onOpenFailed: (error, retry) => log.push(`failed ${retry}`), onLost: () => log.push('lost'),
    });
    await screen.start();
    await clock.advance(120_000);
    expect([opens, log]).toEqual([1, ['failed undefined']]);
  });
});
