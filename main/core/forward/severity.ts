/**
 * How much a forwarded item matters, the same for every format (OTLP severity, syslog PRI, OCSF
 * severity_id), and which records are security events (an OCSF-shaped body in OTLP).
 */
import type { AuditRecord } from '../audit/record.js';
import type { ForwardItem } from './types.js';

export type ForwardSeverity = 'info' | 'warn' | 'error';

const WARN_KINDS = new Set(['net.denied', 'cred.denied', 'approval.burst', 'changes.refused', 'artifact.refused', 'screen.stalled', 'resource.limit']);
const ERROR_KINDS = new Set(['cred.misuse', 'policy.violation', 'audit.tamper', 'engine.forged']);
const SECURITY_KINDS = new Set(['net.denied', 'cred.denied', 'cred.misuse', 'policy.violation', 'audit.tamper', 'engine.forged', 'mcp.changed', 'changes.refused', 'artifact.refused']);

/** A record's `decision.allow`, when it has a well-formed one (the record came from a file on disk). */
export function decisionAllows(record: AuditRecord): boolean | undefined {
  const allow = (record.decision as { allow?: unknown } | undefined)?.allow;
  return typeof allow === 'boolean' ? allow : undefined;
}

export function recordSeverity(record: AuditRecord): ForwardSeverity {
  if (ERROR_KINDS.has(record.kind)) return 'error';
  if (WARN_KINDS.has(record.kind) || decisionAllows(record) === false) return 'warn';
  return 'info';
}

export function itemSeverity(item: ForwardItem): ForwardSeverity {
  return item.type === 'record' ? recordSeverity(item.record) : 'info';
}

/** Refusals, misuse, violations, tampering: what a SIEM alerts on. */
export function isSecurityEvent(record: AuditRecord): boolean {
  return SECURITY_KINDS.has(record.kind) || decisionAllows(record) === false;
}

/** A string field of a record read from disk, or undefined when it is missing or not a string. */
export function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
