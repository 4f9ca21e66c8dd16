import path from 'node:path';
import { styleText } from 'node:util';
import type { AirlockEvent } from '../core/audit/events.js';
import type { WireEvent } from '../../preload/contract.js';
import { formatDuration, formatSize } from '../core/policy/units.js';
import { inertDeep } from './terminal-text.js';

type Style = Parameters<typeof styleText>[0];

/**
 * Events as the engine sends them (a kind is any string on the wire, and trail records may be
 * hand-edited): read as events, since everything that reads them here takes any shape — the
 * renderer makes every field inert and shows a record it cannot render as it is.
 */
export function fromWire<T extends WireEvent>(event: T): AirlockEvent & Omit<T, keyof WireEvent> {
  return event as unknown as AirlockEvent & Omit<T, keyof WireEvent>;
}

/**
 * Turns events into the readable, coloured live log of `airlock run` (plain text when not a TTY).
 * Every string of an event (keys too) is made inert before any of it is rendered, so no field an
 * agent wrote can carry a control character, a newline or a bidi override onto the terminal.
 */
export class EventRenderer {
  readonly #color: boolean;
  readonly #cwd: string;
  readonly #showTask: boolean;

  constructor(options: { color: boolean; cwd?: string; showTask?: boolean }) {
    this.#color = options.color;
    this.#cwd = options.cwd ?? process.cwd();
    this.#showTask = options.showTask ?? false;
  }

  render(event: AirlockEvent): string | undefined {
    const inert = inertDeep(event);
    try {
      return this.#render(inert);
    } catch {
      // A record whose fields are not the shape its kind has (a hand-edited trail): shown as it is, never the end of the log.
      return `${String(inert.time).slice(11, 23)} · ${String(inert.kind)} ${JSON.stringify(inert.data)}`;
    }
  }

  #render(event: AirlockEvent): string | undefined {
    // With several tasks interleaved, each line names its task by the end of its id.
    const who = this.#showTask ? ` ${this.#paint('magenta', event.task === '-' ? 'airlock' : `…${event.task.slice(-6)}`)}` : '';
    // A delegated task's lines are indented under its parent and carry its agent's name.
    const depth = event.chain?.length ?? 0;
    const lineage = depth > 0 ? ` ${'  '.repeat(depth - 1)}${this.#paint('magenta', `↳ ${event.agent.name}`)}` : '';
    const time = this.#paint('dim', event.time.slice(11, 23)) + who + lineage;
    const d = event.data;
    const line = (mark: string, style: Style, text: string) => `${time} ${this.#paint(style, mark)} ${text}`;
    if (typeof d.withheld === 'string') return line('⚠', 'yellow', `${event.kind}: ${d.withheld}`); // redaction withheld its data
    switch (event.kind) {
      case 'task.created':
        return line('▶', 'cyan', `${this.#paint('bold', event.task)} ${event.agent.name} · image ${String(d.image)} · network ${this.#network(d.networkPolicy, String(d.network))} · ${describeLimits(d.limits)} · timeout ${formatDuration(Number(d.timeoutMs))}`);
      case 'fs.input':
        return line('↳', 'dim', `input ${String(d.path)}${d.from !== undefined ? ` ← ${String(d.from)}` : ''} ${formatSize(Number(d.size))} sha256:${String(d.sha256).slice(0, 12)}`);
      case 'task.started':
        return line('●', 'green', `started (container ${String(d.container)})`);
      case 'proc.stdout':
        return `${time} ${this.#paint('blue', '│')} ${String(d.line)}${d.cutBytes ? this.#paint('dim', ` … (${formatSize(Number(d.cutBytes))} cut)`) : ''}`;
      case 'proc.stderr':
        return `${time} ${this.#paint('yellow', '┃')} ${this.#paint('yellow', String(d.line))}${d.cutBytes ? this.#paint('dim', ` … (${formatSize(Number(d.cutBytes))} cut)`) : ''}`;
      case 'output.truncated':
        return line('⚠', 'yellow', d.droppedBytes !== undefined ? `${formatSize(Number(d.droppedBytes))} of output not recorded (budget reached)` : String(d.reason));
      case 'task.exited': {
        const code = Number(d.exitCode);
        if (d.oomKilled) return line('■', 'red', `killed: out of memory (limit ${formatSize(Number(d.memoryBytes))}) after ${formatDuration(Number(d.durationMs))}, exit code ${code}`);
        return line('■', code === 0 ? 'green' : 'red', `exited with code ${code} after ${formatDuration(Number(d.durationMs))}`);
      }
      case 'task.timeout':
        return line('■', 'red', `timed out after ${formatDuration(Number(d.timeoutMs))}: stopped`);
      case 'task.frozen':
        return line('❄', 'red', `frozen: ${String(d.reason)} — paused, grants revoked; next: ${String(d.next)}`);
      case 'task.resumed':
        return line('▶', 'yellow', `resumed (${String(d.note)})`);
      case 'task.stopped':
        return line('■', 'red', `stopped by Airlock after ${formatDuration(Number(d.durationMs))}: ${String(d.reason)}`);
      case 'task.cancelled':
        return line('■', 'yellow', `cancelled after ${formatDuration(Number(d.durationMs))}`);
      case 'fs.output':
        if (d.missing) return line('↳', 'yellow', `output ${String(d.path)} was not created by the agent`);
        if (d.skipped) return line('↳', 'yellow', `output ${String(d.path)} skipped: ${String(d.skipped)}`);
        return line('↳', 'dim', `output ${String(d.path)} → ${this.#relative(String(d.file))} ${formatSize(Number(d.size))} sha256:${String(d.sha256).slice(0, 12)}`);
      case 'task.destroyed': {
        const removed = d.removed as Record<string, number>;
        const parts = Object.entries(removed).filter(([, n]) => n > 0).map(([kind, n]) => `${n} ${n === 1 ? kind.replace(/s$/, '') : kind}`);
        return line('✓', 'green', `sandbox destroyed (${parts.join(', ') || 'nothing left'}) in ${formatDuration(Number(d.teardownMs))}`);
      }
      case 'task.aborted':
        return line('✗', 'red', `${event.task} aborted: ${String(d.reason)}`);
      case 'audit.recovered':
        return line('⚠', 'yellow', `audit trail: ${String(d.reason)}${d.keptAs !== undefined ? ` (${String(d.bytes)} bytes kept as ${String(d.keptAs)})` : ''}`);
      case 'audit.tamper':
        return line('⚠', 'red', `audit trail tampered with: ${texts(d.findings).join('; ')} — set aside, the chain goes on from record ${String(d.continuesAt)}`);
      case 'audit.handover': {
        const previous = d.previous as { fingerprint?: unknown } | undefined;
        return line('⚠', 'yellow', `audit trail handed over to a new signing key ${String(d.fingerprint)} (from ${String(previous?.fingerprint)}): ${String(d.reason)}`);
      }
      case 'audit.retention':
        return line('·', 'dim', `audit trail: removed ${texts(d.removedSegments).length} segment(s) older than ${String(d.keepDays)} days`);
      case 'net.request': {
        const where = `${String(d.host)}:${String(d.port)}${d.path !== undefined ? String(d.path) : ''}`;
        const status = Number(d.status);
        if (event.decision && !event.decision.allow) return undefined; // net.denied says it, with the reason
        return line('→', status < 400 ? 'blue' : 'yellow', `${String(d.method)} ${where} ${status} ↑${formatSize(Number(d.bytesUp))} ↓${formatSize(Number(d.bytesDown))} ${formatDuration(Number(d.durationMs))}${this.#paint('dim', ` (${event.decision?.rule ?? ''})`)}`);
      }
      case 'net.denied':
        return line('✗', 'red', `refused ${String(d.method)} ${String(d.host)}:${String(d.port)}: ${String(d.reason)}${this.#paint('dim', ` (rule ${event.decision?.rule ?? '?'})`)}`);
      case 'cred.granted':
        return line('⚷', 'cyan', `lent ${String(d.credential)} for ${texts(d.hosts).join(', ')} until ${String(d.expiresAt).slice(11, 19)} (${String(d.delivery)}, $${String(d.env)})`);
      case 'cred.used':
        return line('⚷', 'green', `${String(d.credential ?? event.identity?.credential)} used: ${String(d.method)} ${String(d.host)}${String(d.path)} → ${String(d.status)}`);
      case 'cred.misuse':
        return line('⚠', 'red', `credential misuse refused: ${String(d.reason)}`);
      case 'cred.denied':
        return line('✗', 'red', `${event.identity?.credential ?? 'credential'} refused: ${String(d.reason)}`);
      case 'cred.expired':
        return line('⚷', 'yellow', `${event.identity?.credential ?? String(d.credential)}: grant expired`);
      case 'cred.revoked':
        return line('⚷', 'dim', `${event.identity?.credential ?? String(d.credential)}: grant revoked (${String(d.reason)})`);
      case 'approval.requested':
        return line('?', 'magenta', `waiting for a person: allow ${String(d.host)}:${String(d.port)}?`);
      case 'approval.decided':
        return line(event.decision?.allow ? '✓' : '✗', event.decision?.allow ? 'green' : 'red', `${String(d.host)}:${String(d.port)} ${event.decision?.allow ? `allowed (${String(d.answer)})` : event.decision?.by === 'default' ? 'denied: no answer in time' : 'denied'}`);
      case 'agent.action':
        // What the agent says it did: marked as its own claim, whatever its fields say.
        return line('•', 'cyan', `${event.actor === 'agent' ? `${this.#paint('magenta', '[agent]')} ` : ''}${String(d.type)}${Object.entries(d).filter(([k]) => k !== 'type').map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join('')}`);
      case 'policy.violation':
        return line('⚠', 'red', `policy violation: ${String(d.reason ?? d.rule)}${d.action ? ` (onViolation: ${String(d.action)})` : ''}`);
      case 'screen.started':
        return d.error !== undefined
          ? line('▢', 'yellow', `no live screen: ${String(d.error)}`)
          : line('▢', 'cyan', `screen ${Number(d.width)}×${Number(d.height)} up (watch it live in the app)`);
      case 'screen.capture':
        return line('▣', 'dim', `screenshot ${String(d.file)} (${String(d.reason)}${d.url ? ` ${String(d.url)}` : ''}) ${formatSize(Number(d.bytes))} sha256:${String(d.sha256).slice(0, 12)}`);
      case 'screen.control':
        return line('✋', 'magenta', d.control === 'taken' ? `${String(d.by)} took control of the screen` : `${String(d.by)} gave back control of the screen (${String(d.reason)})`);
      case 'screen.stalled':
        return line('▢', 'yellow', `screen still for ${Math.round(Number(d.stillForMs) / 1000)} s while the browser loaded ${Number(d.pageLoads)} page(s) (last ${String(d.url)})`);
      case 'approval.burst':
        return line('?', 'red', `too many asks: ${String(d.host)}:${String(d.port)} denied without asking (${String(d.reason)})`);
      case 'engine.forged':
        return line('⚠', 'red', `${String(d.object)} ${String(d.name)} carries Airlock's labels for ${String(d.claimedTask)} but is not Airlock's: ${String(d.reason)} (left alone)`);
      case 'pool.prepared':
        return line('·', 'dim', 'a sandbox prepared for the warm pool');
      case 'pool.claimed':
        return line('·', 'dim', `took a prepared sandbox from the warm pool (made ${formatDuration(Number(d.ageMs))} before)`);
      case 'pool.discarded':
        return line('·', 'dim', `a prepared sandbox discarded: ${String(d.reason)}`);
      case 'project.progress':
        return line('…', 'dim', `copying the project: ${Number(d.files)}/${Number(d.totalFiles)} files, ${formatSize(Number(d.bytes))}/${formatSize(Number(d.totalBytes))}`);
      case 'model.usage': {
        // Figures that are not numbers (a hand-edited trail) show as NaN, never as something else.
        const total = (which: string) => (d.totals as Record<string, { tokens?: unknown; usd?: unknown }> | undefined)?.[which];
        const usd = (value: unknown) => (value === null ? 'no price' : `$${Number(value).toFixed(4)}`);
        return line('$', 'cyan', `${String(d.provider)} ${String(d.model)}: ${Number(d.inputTokens)} in (${Number(d.cachedTokens)} cached) / ${Number(d.outputTokens)} out, ${usd(d.costUsd)}${this.#paint('dim', ` · task ${Number(total('task')?.tokens)} tokens ${usd(total('task')?.usd)} · chain ${Number(total('chain')?.tokens)} tokens ${usd(total('chain')?.usd)}`)}`);
      }
      case 'image.progress':
        return line('…', 'dim', `${String(d.phase)}: ${String(d.message)}${d.percent !== undefined ? ` (${Number(d.percent)}%)` : ''}`);
      default:
        return line('·', 'dim', `${event.kind} ${JSON.stringify(d)}`);
    }
  }

  #network(policy: unknown, mode: string): string {
    const p = policy as { mode: string; allow?: string[]; local?: string[]; widened?: boolean; source?: string } | undefined;
    if (!p) return mode;
    const hosts = [...(p.allow ?? []), ...(p.local ?? []).map((l) => `local ${l}`)];
    const detail = p.mode === 'allowlist' ? ` [${hosts.join(', ')}]` : '';
    const widened = p.widened ? this.#paint('yellow', ' (widened by --net)') : p.source === '--net' ? ' (set by --net)' : '';
    return `${p.mode}${detail}${widened}`;
  }

  #relative(file: string): string {
    const rel = path.relative(this.#cwd, file);
    return rel.startsWith('..') ? file : `./${rel}`;
  }

  #paint(style: Style, text: string): string {
    return this.#color ? styleText(style, text) : text;
  }
}

/** A record's list field as texts, whatever a hand-edited trail put there (a record never stops `log`). */
function texts(value: unknown): string[] {
  return [value].flat().filter((item) => item !== undefined).map(String);
}

function describeLimits(limits: unknown): string {
  const l = limits as { cpus: number; memoryBytes: number; pids: number };
  return `${l.cpus} cpu · ${formatSize(l.memoryBytes)} · ${l.pids} pids`;
}
