/**
 * Asks never move under the cursor so that one click answers another request. The list keeps the
 * order in which asks first arrived (a new one is appended, whatever order the main process sends),
 * and an ask's buttons work only once it has stood still at its place for ASK_ARM_DELAY_MS: one
 * that just appeared, or that moved because another was answered, cannot take a click meant for
 * the card that was there a moment ago.
 */
export const ASK_ARM_DELAY_MS = 600;

/** The pending list in first-seen order: known ones where they were, new ones after them. */
export function keepOrder<T extends { id: string }>(shown: readonly T[], next: readonly T[]): T[] {
  const byId = new Map(next.map((item) => [item.id, item]));
  const kept = shown.filter((item) => byId.has(item.id)).map((item) => byId.get(item.id)!);
  const known = new Set(kept.map((item) => item.id));
  return [...kept, ...next.filter((item) => !known.has(item.id))];
}

export interface Placement {
  slot: number;
  /** When the ask took this slot (ms, the page's clock). */
  since: number;
}

/** Where each shown ask stands and since when: an ask that is new or whose slot changed starts again. */
export function place(previous: ReadonlyMap<string, Placement>, ids: readonly string[], now: number): Map<string, Placement> {
  const next = new Map<string, Placement>();
  ids.forEach((id, slot) => {
    const before = previous.get(id);
    next.set(id, before && before.slot === slot ? before : { slot, since: now });
  });
  return next;
}

/** Milliseconds until an ask placed at `since` takes clicks (0: it does). */
export function armsIn(since: number, now: number, delayMs = ASK_ARM_DELAY_MS): number {
  return Math.max(0, since + delayMs - now);
}
