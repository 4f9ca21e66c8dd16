import type { Actor, EventKind } from '../audit/events.js';
import { BoundedOutput, DEFAULT_OUTPUT_LIMITS, type OutputLimits } from '../engine/output.js';

/** How the runner records one event of its task. */
export type Emit = (kind: EventKind, data: Record<string, unknown>, actor?: Actor) => void;

/** The agent's output as bounded line events (`proc.stdout`/`proc.stderr`), and one `output.truncated` past the budget. */
export function recordedOutput(emit: Emit, limits: OutputLimits = DEFAULT_OUTPUT_LIMITS): BoundedOutput {
  const output: BoundedOutput = new BoundedOutput({
    line: (stream, line, cut) => emit(stream === 'stdout' ? 'proc.stdout' : 'proc.stderr', cut ? { line, cutBytes: cut } : { line }, 'agent'),
    budgetExceeded: () => emit('output.truncated', {
      reason: 'output budget reached: further output is counted, not recorded',
      maxLines: output.limits.maxLines, maxBytes: output.limits.maxBytes,
    }),
  }, limits);
  return output;
}
