/** Exit codes per DESIGN.md: the agent's own, or one of these. */
export const EXIT = {
  ok: 0,
  timeout: 124,
  couldNotRun: 125,
  interrupted: 130,
} as const;

export type ExitCode = number;
