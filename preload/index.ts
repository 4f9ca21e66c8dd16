/**
 * The preload: runs sandboxed, in the isolated world, before the renderer's own scripts.
 *
 * It exposes `window.airlock` with exactly one named function per contract channel and one
 * subscription per push topic, and nothing else — no generic invoke/send, no ipcRenderer, no
 * event objects — so a compromised renderer can only ask for what the contract allows (and
 * main/ipc still checks every call).
 *
 * Functions resolve to the contract's envelope rather than throwing: contextBridge rebuilds thrown
 * errors from their message alone, so `code` and `hint` would not survive the crossing.
 * renderer/src/lib/api.ts unwraps the envelope into a typed error on the page's side.
 *
 * Only types come from ./contract.js, so this bundle stays small and needs no other file.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { AirlockBridge, Channel, ChannelArgs, ChannelResult, ErrorEnvelope, PushPayload, PushTopic } from './contract.js';

/** contract.ts pushChannel(), spelled out here so the bundle needs no zod (a unit test keeps them equal). */
const pushChannel = (topic: PushTopic) => `push:${topic}` as const;

function invoke<C extends Channel>(channel: C, ...args: ChannelArgs<C>): Promise<ErrorEnvelope<ChannelResult<C>>> {
  return ipcRenderer.invoke(channel, ...args) as Promise<ErrorEnvelope<ChannelResult<C>>>;
}

/** Hands the listener the payload only (never Electron's event, which carries the sender). */
function subscribe<T extends PushTopic>(topic: T, listener: (payload: PushPayload<T>) => void): () => void {
  if (typeof listener !== 'function') throw new TypeError('a subscription needs a listener function');
  const channel = pushChannel(topic);
  const forward = (_event: IpcRendererEvent, payload: PushPayload<T>) => listener(payload);
  ipcRenderer.on(channel, forward);
  return () => {
    ipcRenderer.removeListener(channel, forward);
  };
}

// Typed as AirlockBridge: the compiler rejects a missing channel, an extra one, or a wrong signature.
const bridge: AirlockBridge = {
  app: {
    version: () => invoke('app.version'),
  },
  doctor: {
    run: () => invoke('doctor.run'),
  },
  images: {
    build: (options) => invoke('images.build', options),
    state: () => invoke('images.state'),
  },
  agents: {
    list: () => invoke('agents.list'),
    open: () => invoke('agents.open'),
    forget: (id) => invoke('agents.forget', id),
    approve: (id, options) => invoke('agents.approve', id, options),
  },
  review: {
    get: (task) => invoke('review.get', task),
    apply: (request) => invoke('review.apply', request),
    discard: (task) => invoke('review.discard', task),
  },
  tasks: {
    run: (request) => invoke('tasks.run', request),
    list: () => invoke('tasks.list'),
    history: (options) => invoke('tasks.history', options),
    stop: (task) => invoke('tasks.stop', task),
    resume: (task) => invoke('tasks.resume', task),
  },
  approvals: {
    list: () => invoke('approvals.list'),
    answer: (reply) => invoke('approvals.answer', reply),
  },
  audit: {
    query: (query) => invoke('audit.query', query),
    verify: () => invoke('audit.verify'),
    export: (options) => invoke('audit.export', options),
  },
  credentials: {
    list: () => invoke('credentials.list'),
    presets: () => invoke('credentials.presets'),
    add: (input) => invoke('credentials.add', input),
    remove: (name) => invoke('credentials.remove', name),
  },
  screen: {
    watch: (task) => invoke('screen.watch', task),
    unwatch: (task) => invoke('screen.unwatch', task),
    control: (request) => invoke('screen.control', request),
    input: (request) => invoke('screen.input', request),
    shots: (task) => invoke('screen.shots', task),
    shot: (request) => invoke('screen.shot', request),
  },
  artifacts: {
    read: (request) => invoke('artifacts.read', request),
    save: (request) => invoke('artifacts.save', request),
    reveal: (request) => invoke('artifacts.reveal', request),
  },
  terminal: {
    watch: (task) => invoke('terminal.watch', task),
    unwatch: (task) => invoke('terminal.unwatch', task),
    control: (request) => invoke('terminal.control', request),
    input: (request) => invoke('terminal.input', request),
    resize: (request) => invoke('terminal.resize', request),
  },
  subscribe: {
    events: (listener) => subscribe('events', listener),
    tasks: (listener) => subscribe('tasks', listener),
    approvals: (listener) => subscribe('approvals', listener),
    images: (listener) => subscribe('images', listener),
    screen: (listener) => subscribe('screen', listener),
    terminal: (listener) => subscribe('terminal', listener),
  },
};

contextBridge.exposeInMainWorld('airlock', bridge);
