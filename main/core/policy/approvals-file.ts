import path from 'node:path';
import { z } from 'zod';
import { StateFile, type StateFileFormat } from '../state-file.js';

const v1Entry = z.strictObject({ name: z.string(), file: z.string(), digest: z.string(), approvedAt: z.string(), approvedBy: z.string() });
/**
 * v2 adds `delegates`: the digest of each agent the manifest may start (its `delegate.allow`),
 * pinned when it was approved. Absent on entries migrated from v1 (approved before Airlock pinned
 * delegates): such a parent starts no child until it is approved again.
 */
const v2Entry = v1Entry.extend({ delegates: z.record(z.string(), z.string()).optional() });

export type ApprovalEntry = z.infer<typeof v2Entry>;

const approvalsFormat: StateFileFormat<ApprovalEntry[]> = {
  holds: 'the agents you approved',
  recover: 'approve your agents again (airlock agents approve <manifest.yaml>, or Approve in the app)',
  version: 2,
  readers: {
    1: z.strictObject({ v: z.literal(1), approvals: z.array(v1Entry) }).transform((file) => file.approvals), // no pinned delegates: see v2Entry
    2: z.strictObject({ v: z.literal(2), approvals: z.array(v2Entry) }).transform((file) => file.approvals),
  },
  empty: () => [],
  encode: (approvals) => ({ approvals }),
};

/** AIRLOCK_HOME/approvals.json: validated as it is read (a v1 file is migrated), changed under the state-file lock. */
export class ApprovalsFile {
  readonly #file: StateFile<ApprovalEntry[]>;

  constructor(home: string) {
    this.#file = new StateFile(path.join(home, 'approvals.json'), approvalsFormat);
  }

  read(): ApprovalEntry[] {
    return this.#file.read();
  }

  /** Replaces the approval of `entry.name` (if any) with `entry`, without losing another process's change. */
  put(entry: ApprovalEntry): void {
    this.#file.update((current) => [...current.filter((e) => e.name !== entry.name), entry]);
  }
}
