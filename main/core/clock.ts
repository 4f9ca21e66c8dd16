/** Injected wherever time matters, so tests can drive timeouts and expiries without sleeping. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

/**
 * Timers longer than this are re-checked against the wall clock this often: Node's timers count
 * the monotonic clock, which stands still while a laptop sleeps, so a 10-minute timeout armed
 * before an hour's sleep would otherwise fire 10 minutes after waking instead of at once.
 */
const WALL_CLOCK_STEP_MS = 1000;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const due = Date.now() + ms;
    let handle: NodeJS.Timeout;
    const arm = (wait: number) => {
      handle = setTimeout(() => {
        const left = due - Date.now();
        if (left > 0) arm(Math.min(left, WALL_CLOCK_STEP_MS));
        else fn();
      }, wait);
      handle.unref?.();
    };
    arm(Math.min(Math.max(0, ms), WALL_CLOCK_STEP_MS));
    return { cancel: () => clearTimeout(handle) };
  },
};
