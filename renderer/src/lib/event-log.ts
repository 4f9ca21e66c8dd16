/**
 * One task's action log in the renderer: its events in order (live ones appended, older ones from
 * the audit trail prepended), plus what the charts need, derived once per event as it arrives so
 * no view ever rescans 200,000 events to draw a chart.
 */
import type { WireEvent } from '../../../preload/contract';

export interface Sample { t: number; cpu: number; memory: number; limit?: number }
export interface Bucket { t: number; allowed: number; denied: number }
export interface Artifact { path: string; size?: number; sha256?: string; note?: string }

/** Seconds per bar of the "requests over time" chart. */
export const BUCKET_MS = 5000;
/** The most events one task keeps in memory; older ones stay in the audit trail. */
export const MAX_EVENTS = 500_000;

const agents = new Map<string, WireEvent['agent']>();

/** Events of one agent share one agent object: 200,000 copies of a digest add up. */
function intern(event: WireEvent): WireEvent {
  const key = `${event.agent.name}@${event.agent.digest}`;
  const shared = agents.get(key);
  if (shared) event.agent = shared;
  else agents.set(key, event.agent);
  return event;
}

export class EventLog {
  readonly task: string;
  events: WireEvent[] = [];
  /** Bumped on every change; views compare it to know when to redraw. */
  version = 0;
  /** Bumped when events were put in front (or dropped): filtered views start again. */
  epoch = 0;
  samples: Sample[] = [];
  buckets: Bucket[] = [];
  requests: WireEvent[] = [];
  /** The agent's MCP tool calls (`mcp.call`), allowed and refused. */
  toolCalls: WireEvent[] = [];
  artifacts: Artifact[] = [];
  counts = { requests: 0, denied: 0, asks: 0, outputLines: 0, screenshots: 0 };
  dropped = 0;
  /** The trail was read for what came before the first live event. */
  backfilled = false;

  constructor(task: string) {
    this.task = task;
  }

  append(events: WireEvent[]): void {
    const last = this.events.at(-1)?.seq ?? 0;
    for (const event of events) {
      if (event.seq <= last && this.events.length > 0) continue; // already here (a replay)
      this.events.push(intern(event));
      this.#derive(event);
    }
    if (this.events.length > MAX_EVENTS) {
      const excess = this.events.length - MAX_EVENTS;
      this.events.splice(0, excess);
      this.dropped += excess;
      this.epoch += 1;
    }
    this.version += 1;
  }

  /** Older events from the audit trail: those before the first live one are put in front. */
  prepend(older: WireEvent[]): void {
    const first = this.events[0]?.seq ?? Number.POSITIVE_INFINITY;
    const before = older.filter((event) => event.seq < first).sort((a, b) => a.seq - b.seq);
    if (before.length > 0) {
      this.events = [...before.map(intern), ...this.events];
      this.samples = [];
      this.buckets = [];
      this.requests = [];
      this.toolCalls = [];
      this.artifacts = [];
      this.counts = { requests: 0, denied: 0, asks: 0, outputLines: 0, screenshots: 0 };
      for (const event of this.events) this.#derive(event);
      this.epoch += 1;
    }
    this.version += 1;
  }

  get firstSeq(): number | undefined {
    return this.events[0]?.seq;
  }

  #derive(event: WireEvent): void {
    const d = event.data;
    switch (event.kind) {
      case 'resource.sample':
        this.samples.push({ t: Date.parse(event.time), cpu: Number(d.cpuPercent), memory: Number(d.memoryBytes), ...(typeof d.memoryLimitBytes === 'number' ? { limit: d.memoryLimitBytes } : {}) });
        break;
      case 'net.request': {
        this.counts.requests += 1;
        const denied = event.decision?.allow === false;
        if (denied) this.counts.denied += 1;
        this.requests.push(event);
        const t = Math.floor(Date.parse(event.time) / BUCKET_MS) * BUCKET_MS;
        let bucket = this.buckets.at(-1);
        if (!bucket || bucket.t !== t) {
          bucket = { t, allowed: 0, denied: 0 };
          this.buckets.push(bucket);
        }
        if (denied) bucket.denied += 1;
        else bucket.allowed += 1;
        break;
      }
      case 'mcp.call':
        this.toolCalls.push(event);
        break;
      case 'approval.requested':
        this.counts.asks += 1;
        break;
      case 'screen.capture':
        this.counts.screenshots += 1;
        break;
      case 'proc.stdout':
      case 'proc.stderr':
        this.counts.outputLines += 1;
        break;
      case 'fs.output':
        this.artifacts.push({
          path: String(d.path),
          ...(typeof d.size === 'number' ? { size: d.size } : {}),
          ...(typeof d.sha256 === 'string' ? { sha256: d.sha256 } : {}),
          ...(d.missing ? { note: 'not created by the agent' } : d.skipped ? { note: `skipped: ${String(d.skipped)}` } : {}),
        });
        break;
    }
  }
}
