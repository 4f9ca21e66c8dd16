/** One line of the action log, as the UI shows it (the app's version of the CLI's readable log). */
import type { WireEvent } from '../../../preload/contract';
import { formatDuration, formatSize } from './format';

export type Tone = 'info' | 'ok' | 'bad' | 'warn' | 'muted' | 'out' | 'err' | 'ask';

export interface Summary {
  mark: string;
  tone: Tone;
  text: string;
}

const str = (value: unknown) => (value === undefined || value === null ? '' : String(value));
const num = (value: unknown) => Number(value);

/** Who recorded an event, as every log row shows it: an agent's own records can never pass for Airlock's. */
export const RECORDED_BY: Record<WireEvent['actor'], string> = { agent: 'agent', airlock: 'airlock', user: 'person' };

export function summarize(event: WireEvent): Summary {
  const d = event.data;
  if (typeof d.withheld === 'string') return { mark: '⚠', tone: 'warn', text: d.withheld };
  switch (event.kind) {
    case 'task.created': {
      const policy = d.networkPolicy as { mode?: string; allow?: string[]; widened?: boolean } | undefined;
      const network = policy?.mode === 'allowlist' ? `allowlist [${(policy.allow ?? []).join(', ')}]` : str(d.network);
      const limits = d.limits as { cpus?: number; memoryBytes?: number } | undefined;
      return { mark: '▶', tone: 'info', text: `created · ${event.agent.name} · image ${str(d.image)} · network ${network}${policy?.widened ? ' (widened for this run)' : ''} · ${limits?.cpus ?? '?'} cpu · ${formatSize(limits?.memoryBytes)} · timeout ${formatDuration(num(d.timeoutMs))}` };
    }
    case 'task.started':
      return { mark: '●', tone: 'ok', text: `started (container ${str(d.container)})` };
    case 'proc.stdout':
      return { mark: '│', tone: 'out', text: str(d.line) };
    case 'proc.stderr':
      return { mark: '┃', tone: 'err', text: str(d.line) };
    case 'output.truncated':
      return { mark: '⚠', tone: 'warn', text: d.droppedBytes !== undefined ? `${formatSize(num(d.droppedBytes))} of output not recorded (budget reached)` : str(d.reason) };
    case 'task.exited':
      if (d.oomKilled) return { mark: '■', tone: 'bad', text: `killed: out of memory after ${formatDuration(num(d.durationMs))}` };
      return { mark: '■', tone: num(d.exitCode) === 0 ? 'ok' : 'bad', text: `exited with code ${str(d.exitCode)} after ${formatDuration(num(d.durationMs))}` };
    case 'task.timeout':
      return { mark: '■', tone: 'bad', text: `timed out after ${formatDuration(num(d.timeoutMs))}: stopped` };
    case 'task.cancelled':
      return { mark: '■', tone: 'warn', text: `stopped after ${formatDuration(num(d.durationMs))}` };
    case 'task.stopped':
      return { mark: '■', tone: 'bad', text: `stopped by policy after ${formatDuration(num(d.durationMs))}: ${str(d.reason)}` };
    case 'task.frozen':
      return { mark: '❄', tone: 'bad', text: `frozen: ${str(d.reason)} (containers paused, credentials revoked)` };
    case 'task.resumed':
      return { mark: '▶', tone: 'warn', text: 'resumed by a person; its credentials stay revoked' };
    case 'task.aborted':
      return { mark: '✗', tone: 'bad', text: `aborted: ${str(d.reason)}` };
    case 'task.destroyed': {
      const removed = (d.removed ?? {}) as Record<string, number>;
      const parts = Object.entries(removed).filter(([, n]) => n > 0).map(([kind, n]) => `${n} ${n === 1 ? kind.replace(/s$/, '') : kind}`);
      return { mark: '✓', tone: 'ok', text: `sandbox destroyed (${parts.join(', ') || 'nothing left'}) in ${formatDuration(num(d.teardownMs))}` };
    }
    case 'fs.input':
      return { mark: '↳', tone: 'muted', text: `input ${str(d.path)}${d.from !== undefined ? ` ← ${str(d.from)}` : ''} ${formatSize(num(d.size))} sha256:${str(d.sha256).slice(0, 12)}` };
    case 'fs.output':
      if (d.missing) return { mark: '↳', tone: 'warn', text: `output ${str(d.path)} was not created by the agent` };
      if (d.skipped) return { mark: '↳', tone: 'warn', text: `output ${str(d.path)} skipped: ${str(d.skipped)}` };
      return { mark: '↳', tone: 'muted', text: `output ${str(d.path)} ${formatSize(num(d.size))} sha256:${str(d.sha256).slice(0, 12)}` };
    case 'net.request': {
      const where = `${str(d.host)}:${str(d.port)}${str(d.path)}`;
      const allowed = event.decision?.allow !== false;
      return { mark: allowed ? '→' : '✗', tone: allowed ? (num(d.status) < 400 ? 'info' : 'warn') : 'bad', text: `${str(d.method)} ${where} ${str(d.status)} ↑${formatSize(num(d.bytesUp))} ↓${formatSize(num(d.bytesDown))} ${formatDuration(num(d.durationMs))}` };
    }
    case 'net.denied':
      return { mark: '✗', tone: 'bad', text: `refused ${str(d.method)} ${str(d.host)}:${str(d.port)}: ${str(d.reason)}` };
    case 'approval.requested':
      return { mark: '?', tone: 'ask', text: `waiting for a person: allow ${str(d.host)}:${str(d.port)}?` };
    case 'approval.decided': {
      const allow = event.decision?.allow === true;
      return { mark: allow ? '✓' : '✗', tone: allow ? 'ok' : 'bad', text: `${str(d.host)}:${str(d.port)} ${allow ? `allowed (${str(d.answer)})` : event.decision?.by === 'default' ? 'denied: no answer in time' : 'denied by a person'}` };
    }
    case 'agent.action': {
      const fields = Object.entries(d).filter(([k]) => k !== 'type').map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join('');
      return { mark: '•', tone: 'info', text: `${str(d.type)}${fields}` };
    }
    case 'policy.violation':
      return { mark: '⚠', tone: 'bad', text: `policy violation: ${str(d.reason ?? d.rule)}` };
    case 'screen.started':
      if (d.error !== undefined) return { mark: '▣', tone: 'bad', text: `the screen did not come up: ${str(d.error)}` };
      return { mark: '▣', tone: 'info', text: `screen up: ${str(d.width)}×${str(d.height)}, with a browser` };
    case 'screen.capture':
      return { mark: '▣', tone: 'muted', text: `screenshot ${str(d.index)} (${str(d.reason)}${d.url ? ` ${str(d.url)}` : ''}) ${formatSize(num(d.bytes))} sha256:${str(d.sha256).slice(0, 12)}` };
    case 'screen.control':
      return d.control === 'taken'
        ? { mark: '✋', tone: 'warn', text: `${str(d.by)} took control of the screen (${str(d.reason)})` }
        : { mark: '✋', tone: 'info', text: `${str(d.by)} gave control of the screen back (${str(d.reason)})` };
    case 'resource.sample':
      return { mark: '·', tone: 'muted', text: `cpu ${num(d.cpuPercent).toFixed(1)}% · memory ${formatSize(num(d.memoryBytes))}` };
    default:
      if (event.kind.startsWith('cred.')) return { mark: '⚷', tone: event.kind === 'cred.misuse' || event.kind === 'cred.denied' ? 'bad' : 'info', text: `${event.kind.slice(5)} ${str(d.credential ?? event.identity?.credential)} ${str(d.host)}` };
      return { mark: '·', tone: 'muted', text: `${event.kind} ${JSON.stringify(d)}` };
  }
}

/** The kind families the log filter offers. */
export const KIND_FAMILIES = ['task', 'proc', 'net', 'approval', 'fs', 'policy', 'cred', 'screen', 'resource'] as const;
export type KindFamily = (typeof KIND_FAMILIES)[number];

export function familyOf(kind: string): string {
  const dot = kind.indexOf('.');
  const family = dot === -1 ? kind : kind.slice(0, dot);
  return family === 'output' ? 'proc' : family;
}
