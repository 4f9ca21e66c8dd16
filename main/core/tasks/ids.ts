import { monotonicFactory } from 'ulid';

const nextUlid = monotonicFactory();

/** `t_` + a ULID: unique, and sorts by creation time. Lower case so it is a valid Docker name. */
export function newTaskId(): string {
  return `t_${nextUlid().toLowerCase()}`;
}

export function isTaskId(value: string): boolean {
  return /^t_[0-9a-hjkmnp-tv-z]{26}$/.test(value);
}
