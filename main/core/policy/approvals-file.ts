import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AirlockError } from '../errors.js';

const v1Entry = z.strictObject({ name: z.string(), file: z.string(), digest: z.string(), approvedAt: z.string(), approvedBy: z.string() });
/**
 * v2 adds `delegates`: the digest of each agent the manifest may start (its `delegate.allow`),
 * pinned when it was approved. Absent on entries migrated from v1 (approved before Airlock pinned
 * delegates): such a parent starts no child until it is approved again.
 */
const v2Entry = v1Entry.extend({ delegates: z.record(z.string(), z.string()).optional() });
const v1File = z.strictObject({ v: z.literal(1), approvals: z.array(v1Entry) });
const v2File = z.strictObject({ v: z.literal(2), approvals: z.array(v2Entry) });

export type ApprovalEntry = z.infer<typeof v2Entry>;

/** AIRLOCK_HOME/approvals.json: read (a v1 file is migrated as it is read) and replaced atomically. */
export class ApprovalsFile {
  readonly path: string;

  constructor(home: string) {
    this.path = path.join(home, 'approvals.json');
  }

  read(): ApprovalEntry[] {
    if (!fs.existsSync(this.path)) return [];
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(this.path, 'utf8'));
    } catch {
      throw this.#damaged();
    }
    const v2 = v2File.safeParse(json);
    if (v2.success) return v2.data.approvals;
    const v1 = v1File.safeParse(json);
    if (v1.success) return v1.data.approvals; // no pinned delegates: see v2Entry
    throw this.#damaged();
  }

  write(entries: ApprovalEntry[]): void {
    fs.mkdirSync(path.dirname(this.path), { recursive: true, mode: 0o700 });
    const temp = `${this.path}.${process.pid}.tmp`;
    fs.writeFileSync(temp, `${JSON.stringify({ v: 2, approvals: entries }, null, 2)}\n`, { mode: 0o600 });
    fs.renameSync(temp, this.path);
  }

  #damaged(): AirlockError {
    return new AirlockError('internal', `${this.path} is damaged`, 'remove it and approve your agents again');
  }
}
