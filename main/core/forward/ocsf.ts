/**
 * The OCSF 1.3-shaped body of a security event (README "Forwarding the audit trail"): the class a
 * SIEM files it under, its disposition, the product and the record it came from. Airlock's own
 * fields that OCSF has no place for go in `unmapped`.
 */
import type { AuditRecord } from '../audit/record.js';
import { decisionAllows, recordSeverity, text, type ForwardSeverity } from './severity.js';
import { recordSummary } from './summary.js';
import type { ForwardSource } from './types.js';

interface OcsfClass {
  class_uid: number;
  class_name: string;
  category_uid: number;
  category_name: string;
}

const NETWORK_ACTIVITY: OcsfClass = { class_uid: 4001, class_name: 'Network Activity', category_uid: 4, category_name: 'Network Activity' };
const API_ACTIVITY: OcsfClass = { class_uid: 6003, class_name: 'API Activity', category_uid: 6, category_name: 'Application Activity' };
const DETECTION_FINDING: OcsfClass = { class_uid: 2004, class_name: 'Detection Finding', category_uid: 2, category_name: 'Findings' };
const FILE_ACTIVITY: OcsfClass = { class_uid: 1001, class_name: 'File System Activity', category_uid: 1, category_name: 'System Activity' };

const FINDINGS = new Set(['policy.violation', 'audit.tamper', 'engine.forged', 'cred.misuse']);
const FILE_KINDS = new Set(['changes.refused', 'artifact.refused', 'changes.applied', 'fs.input', 'fs.output']);

/** OCSF's severity_id: Informational 1, Medium 3, High 4. */
const SEVERITY_ID: Record<ForwardSeverity, number> = { info: 1, warn: 3, error: 4 };

function classOf(kind: string): OcsfClass {
  if (FINDINGS.has(kind)) return DETECTION_FINDING;
  if (kind.startsWith('net.')) return NETWORK_ACTIVITY;
  if (FILE_KINDS.has(kind)) return FILE_ACTIVITY;
  // cred.*, mcp.* and any other refused action an agent asked for through Airlock
  return API_ACTIVITY;
}

/** Network Activity: Refuse 5 / Traffic 6; Detection Finding: Create 1; otherwise Other 99. */
function activityOf(ocsf: OcsfClass, blocked: boolean): number {
  if (ocsf === NETWORK_ACTIVITY) return blocked ? 5 : 6;
  if (ocsf === DETECTION_FINDING) return 1;
  return 99;
}

const REFUSING_KINDS = new Set(['net.denied', 'cred.denied', 'changes.refused', 'artifact.refused', 'mcp.changed']);

export type OcsfValue = string | number | boolean | OcsfValue[] | { [key: string]: OcsfValue };

export function ocsfBody(record: AuditRecord, source: ForwardSource): { [key: string]: OcsfValue } {
  const kind = String(record.kind);
  const allow = decisionAllows(record);
  const blocked = allow === false || REFUSING_KINDS.has(kind);
  const ocsf = classOf(kind);
  const activity = activityOf(ocsf, blocked);
  const uid = `${source.trailId}:${record.n}`;
  const message = recordSummary(record);
  const timeMs = Date.parse(String(record.time));
  const agentName = text((record.agent as { name?: unknown } | undefined)?.name);
  const rule = text((record.decision as { rule?: unknown } | undefined)?.rule);
  const body: { [key: string]: OcsfValue } = {
    ...ocsf,
    activity_id: activity,
    type_uid: ocsf.class_uid * 100 + activity,
    severity_id: SEVERITY_ID[recordSeverity(record)],
    time: Number.isFinite(timeMs) ? timeMs : 0,
    message,
    status: ocsf === DETECTION_FINDING ? 'New' : blocked ? 'Failure' : 'Success',
    metadata: {
      product: { name: 'Airlock', vendor_name: 'Airlock', version: source.version },
      version: '1.3.0',
      uid,
      log_name: 'airlock.audit',
    },
    actor: {
      ...(agentName !== undefined ? { app_name: agentName } : {}),
      ...(record.actor === 'user' ? { user: { name: source.user } } : {}),
    },
    unmapped: {
      ...(text(record.task) !== undefined ? { task: record.task } : {}),
      kind,
      ...(rule !== undefined ? { rule } : {}),
    },
  };
  if (allow !== undefined) {
    body.disposition_id = allow ? 1 : 2;
    body.disposition = allow ? 'Allowed' : 'Blocked';
  }
  if (ocsf === DETECTION_FINDING) body.finding_info = { title: message, uid };
  return body;
}
