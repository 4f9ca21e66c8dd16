/**
 * The page side of the e2e bridge: provides `window.airlock` — the same shape the preload exposes
 * (one function per contract channel resolving to an envelope, one subscription per push topic) —
 * over a WebSocket to test/e2e/bridge.ts. Served as a classic script before the renderer's
 * module, so the real built renderer finds it exactly where the preload would have put it.
 * Bundled with esbuild at test time; `__AIRLOCK_BRIDGE__` is defined by the bridge. Byte arrays
 * arrive as {"$bytes": base64} and are handed to the page as Uint8Array, as Electron's IPC would.
 */
interface BridgeConfig { url: string; channels: string[]; topics: string[] }
type Envelope = { ok: true; value: unknown } | { ok: false; error: { code: string; message: string } };
type Message = { id: number; envelope: Envelope } | { push: string; payload: unknown; sentAt: number };

const config = (globalThis as unknown as { __AIRLOCK_BRIDGE__: BridgeConfig }).__AIRLOCK_BRIDGE__;
const socket = new WebSocket(config.url);
const opened = new Promise<void>((resolve) => socket.addEventListener('open', () => resolve(), { once: true }));
const pending = new Map<number, (envelope: Envelope) => void>();
const listeners = new Map<string, Set<(payload: unknown) => void>>();
let nextId = 1;

/** Arrival times of pushes, for the UI benchmark (bench/ui.ts). */
const stats = { pushes: 0, events: 0, transitMs: [] as number[], oldestAgeMs: [] as number[] };
(globalThis as unknown as { __airlockBridgeStats: typeof stats }).__airlockBridgeStats = stats;

/** {"$bytes": base64} → Uint8Array; everything else as it is. */
function revive(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const bytes = (value as { $bytes?: unknown }).$bytes;
  if (typeof bytes !== 'string' || Object.keys(value).length !== 1) return value;
  const binary = atob(bytes);
  const array = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) array[i] = binary.charCodeAt(i);
  return array;
}

/** Uint8Array → {"$bytes": base64} (a terminal's keys), as the engine's wire carries them. */
function encodeBytes(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const original = this[key];
  if (!(original instanceof Uint8Array)) return value;
  let binary = '';
  for (const byte of original) binary += String.fromCharCode(byte);
  return { $bytes: btoa(binary) };
}

socket.addEventListener('message', (message: { data: string }) => {
  const data = JSON.parse(message.data, revive) as Message;
  if ('id' in data) {
    pending.get(data.id)?.(data.envelope);
    pending.delete(data.id);
    return;
  }
  stats.pushes += 1;
  if (data.push === 'events') {
    const events = (data.payload as { events: { time: string }[] }).events;
    stats.events += events.length;
    if (stats.transitMs.length < 100_000) {
      stats.transitMs.push(Date.now() - data.sentAt);
      // the oldest event of the batch: it waited longest in the batcher
      if (events[0]) stats.oldestAgeMs.push(Date.now() - Date.parse(events[0].time));
    }
  }
  for (const listener of listeners.get(data.push) ?? []) listener(data.payload);
});
socket.addEventListener('close', () => {
  for (const resolve of pending.values()) resolve({ ok: false, error: { code: 'internal', message: 'the test bridge closed' } });
  pending.clear();
});

async function invoke(channel: string, args: unknown[]): Promise<Envelope> {
  await opened;
  return new Promise((resolve) => {
    const id = nextId++;
    pending.set(id, resolve);
    socket.send(JSON.stringify({ id, channel, args }, encodeBytes));
  });
}

const bridge: Record<string, Record<string, unknown>> = {};
for (const channel of config.channels) {
  // `audit.forward.list` is audit['forward.list'], as the preload exposes it.
  const dot = channel.indexOf('.');
  const [namespace, method] = [channel.slice(0, dot), channel.slice(dot + 1)];
  (bridge[namespace] ??= {})[method] = (...args: unknown[]) => invoke(channel, args);
}
bridge.subscribe = {};
for (const topic of config.topics) {
  bridge.subscribe[topic] = (listener: (payload: unknown) => void) => {
    let set = listeners.get(topic);
    if (!set) listeners.set(topic, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  };
}
Object.defineProperty(globalThis, 'airlock', { value: Object.freeze(bridge), enumerable: false });
