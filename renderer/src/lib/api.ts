/**
 * The renderer's only door to the main process (lint-enforced): wraps `window.airlock` so the rest
 * of the UI gets plain values and typed errors.
 *
 * The preload resolves every call to an envelope because Electron's contextBridge would strip
 * `code` and `hint` from a thrown error; here, on the page's side, we turn failures back into
 * ApiError with both intact.
 *
 * Everything that comes back — results, pushes, errors — is made visible here (visible-text.ts):
 * events carry what agents and remote hosts wrote, so no control or bidi character reaches a screen.
 */
import type { AirlockApi, AirlockBridge, ErrorEnvelope, IpcError, Subscriptions } from '../../../preload/contract';
import { visible, visibleDeep } from './visible-text';

/** Identifiers the UI sends back as they came (an agent id names a manifest file). Never applied to events. */
const IDS: ReadonlySet<string> = new Set(['id', 'agentId']);
const PATCH: ReadonlySet<string> = new Set([...IDS, 'patch']);
const TOKENS: ReadonlySet<string> = new Set([...IDS, 'token']);

export class ApiError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  constructor(error: IpcError) {
    super(visible(error.message));
    this.name = 'ApiError';
    this.code = visible(error.code);
    this.hint = error.hint === undefined ? undefined : visible(error.hint);
  }
}

function bridge(): AirlockBridge {
  const exposed = window.airlock;
  if (!exposed) {
    throw new ApiError({
      code: 'no_bridge',
      message: 'This page is not running inside the Airlock app, so it cannot reach Airlock.',
      hint: 'start the app with `npm start`',
    });
  }
  return exposed;
}

/** A result, made visible; `keep` names identifier fields to pass as they are. */
async function unwrap<T>(pending: Promise<ErrorEnvelope<T>>, keep: ReadonlySet<string> = IDS): Promise<T> {
  const envelope = await pending;
  if (envelope.ok) return visibleDeep(envelope.value, keep);
  throw new ApiError(envelope.error);
}

/** Results that are events (or hold their data): every key and value is the agent's to choose. */
const events = <T>(pending: Promise<ErrorEnvelope<T>>) => unwrap(pending, new Set());

/** Subscribes when the bridge is there; outside the app it is a no-op (the calls report why). Payloads are made visible. */
function subscription<T extends keyof Subscriptions>(topic: T, keep: ReadonlySet<string> = IDS): Subscriptions[T] {
  return ((listener: (payload: unknown) => void) => {
    const exposed = window.airlock;
    const subscribe = exposed?.subscribe[topic] as ((wrapped: (payload: unknown) => void) => () => void) | undefined;
    return subscribe ? subscribe((payload) => listener(visibleDeep(payload, keep))) : () => undefined;
  }) as Subscriptions[T];
}

export const api: AirlockApi = {
  app: {
    version: () => unwrap(bridge().app.version()),
  },
  doctor: {
    run: () => unwrap(bridge().doctor.run()),
  },
  engine: {
    contexts: () => unwrap(bridge().engine.contexts()),
    useContext: (name) => unwrap(bridge().engine.useContext(name)),
  },
  images: {
    build: (options) => unwrap(bridge().images.build(options)),
    state: () => unwrap(bridge().images.state()),
  },
  agents: {
    list: () => unwrap(bridge().agents.list()),
    open: () => unwrap(bridge().agents.open()),
    forget: (id) => unwrap(bridge().agents.forget(id)),
    approve: (id, options) => unwrap(bridge().agents.approve(id, options)),
  },
  review: {
    // The patch is parsed line by line, so it passes as it is: the Changes tab makes each line visible (lib/change-diff.ts).
    get: (task) => unwrap(bridge().review.get(task), PATCH),
    apply: (request) => unwrap(bridge().review.apply(request)),
    discard: (task) => unwrap(bridge().review.discard(task)),
  },
  tasks: {
    list: () => unwrap(bridge().tasks.list()),
    history: (options) => unwrap(bridge().tasks.history(options)),
    stop: (task) => unwrap(bridge().tasks.stop(task)),
    resume: (task) => unwrap(bridge().tasks.resume(task)),
  },
  run: {
    start: (request) => unwrap(bridge().run.start(request)),
    // Tokens pass as they are (they name what this window chose); names are made visible.
    pickProject: () => unwrap(bridge().run.pickProject(), TOKENS),
    pickInputs: (options) => unwrap(bridge().run.pickInputs(options), TOKENS),
    pickOutput: () => unwrap(bridge().run.pickOutput(), TOKENS),
    drop: (files) => unwrap(bridge().run.drop(files), TOKENS),
  },
  approvals: {
    list: () => unwrap(bridge().approvals.list()),
    answer: (reply) => unwrap(bridge().approvals.answer(reply)),
    attend: (scope) => unwrap(bridge().approvals.attend(scope)),
  },
  audit: {
    query: (query) => events(bridge().audit.query(query)),
    verify: () => unwrap(bridge().audit.verify()),
    export: (options) => unwrap(bridge().audit.export(options)),
    // A collector's last error is remote text: made visible like everything else.
    'forward.list': () => unwrap(bridge().audit['forward.list']()),
    'forward.create': (settings, secret) => unwrap(bridge().audit['forward.create'](settings, secret)),
    'forward.remove': (request) => unwrap(bridge().audit['forward.remove'](request)),
  },
  credentials: {
    list: () => unwrap(bridge().credentials.list()),
    presets: () => unwrap(bridge().credentials.presets()),
    add: (input) => unwrap(bridge().credentials.add(input)),
    remove: (name) => unwrap(bridge().credentials.remove(name)),
  },
  artifacts: {
    read: (request) => unwrap(bridge().artifacts.read(request)),
    save: (request) => unwrap(bridge().artifacts.save(request)),
    reveal: (request) => unwrap(bridge().artifacts.reveal(request)),
  },
  screen: {
    watch: (task) => unwrap(bridge().screen.watch(task)),
    unwatch: (task) => unwrap(bridge().screen.unwatch(task)),
    control: (request) => unwrap(bridge().screen.control(request)),
    input: (request) => unwrap(bridge().screen.input(request)),
    shots: (task) => events(bridge().screen.shots(task)),
    shot: (request) => unwrap(bridge().screen.shot(request)),
  },
  terminal: {
    watch: (task) => unwrap(bridge().terminal.watch(task)),
    unwatch: (task) => unwrap(bridge().terminal.unwatch(task)),
    control: (request) => unwrap(bridge().terminal.control(request)),
    input: (request) => unwrap(bridge().terminal.input(request)),
    resize: (request) => unwrap(bridge().terminal.resize(request)),
  },
  subscribe: {
    events: subscription('events', new Set()),
    tasks: subscription('tasks'),
    approvals: subscription('approvals'),
    images: subscription('images'),
    screen: subscription('screen'),
    terminal: subscription('terminal'),
  },
};

/** Code and hint of any error, for display; errors from outside the API count as `internal`. */
export function describeError(error: unknown): IpcError {
  if (error instanceof ApiError) return { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) };
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) };
}
