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
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { AirlockBridge, Channel, ChannelArgs, ChannelResult, ErrorEnvelope, PickedFile, PushPayload, PushTopic } from './contract.js';

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

/** At most this many files in one drop (contract.ts run.drop). */
const MAX_DROPPED = 100;

/**
 * Files dropped on the run dialog: their paths are read HERE, by Electron (webUtils.getPathForFile),
 * never taken from the page. A File the page made up itself has no path, so the whole drop is
 * refused and main never hears of it: the page can name no host file.
 */
async function drop(files: readonly File[]): Promise<ErrorEnvelope<PickedFile[]>> {
  const refused = (message: string): ErrorEnvelope<PickedFile[]> => ({ ok: false, error: { code: 'bad_argument', message: `run.drop refused: ${message}`, hint: 'drop files or folders from the file manager, or choose them' } });
  if (!Array.isArray(files) || files.length === 0) return refused('no files');
  if (files.length > MAX_DROPPED) return refused(`more than ${MAX_DROPPED} files at once`);
  const paths: string[] = [];
  for (const file of files) {
    let filePath = '';
    try {
      filePath = webUtils.getPathForFile(file);
    } catch {
      // not a File at all
    }
    if (!filePath) return refused('a file that is not on this computer (it has no path)');
    paths.push(filePath);
  }
  return invoke('run.drop', paths);
}

// Typed as AirlockBridge: the compiler rejects a missing channel, an extra one, or a wrong signature.
const bridge: AirlockBridge = {
  app: {
    version: () => invoke('app.version'),
  },
  doctor: {
    run: () => invoke('doctor.run'),
  },
  engine: {
    contexts: () => invoke('engine.contexts'),
    useContext: (name) => invoke('engine.useContext', name),
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
    list: () => invoke('tasks.list'),
    history: (options) => invoke('tasks.history', options),
    stop: (task) => invoke('tasks.stop', task),
    resume: (task) => invoke('tasks.resume', task),
  },
  run: {
    start: (request) => invoke('run.start', request),
    pickProject: () => invoke('run.pickProject'),
    pickInputs: (options) => invoke('run.pickInputs', options),
    pickOutput: () => invoke('run.pickOutput'),
    drop,
  },
  approvals: {
    list: () => invoke('approvals.list'),
    answer: (reply) => invoke('approvals.answer', reply),
    attend: (scope) => invoke('approvals.attend', scope),
  },
  audit: {
    query: (query) => invoke('audit.query', query),
    verify: () => invoke('audit.verify'),
    export: (options) => invoke('audit.export', options),
    'forward.list': () => invoke('audit.forward.list'),
    'forward.create': (settings, secret) => invoke('audit.forward.create', settings, secret),
    'forward.remove': (request) => invoke('audit.forward.remove', request),
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
