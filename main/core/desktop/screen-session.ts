// A task's live screen: x11vnc inside the task's container, spoken to through the engine's exec
// stream (x11vnc behind socat on the exec's stdin/stdout), so no port is opened anywhere, and
// turned into PNG frames of the changed regions for the app's live view. The helpers run as
// SCREEN_UID, not as the agent: the agent cannot signal them, trace them or reach their stream.
import type { Duplex } from 'node:stream';
import type { BackendContainer } from '../engine/backend.js';
import { SCREEN_UID } from '../engine/hardening.js';
import { DockerFrameParser } from '../engine/docker-frames.js';
import { AirlockError } from '../errors.js';
import { cropRgba, encodePng } from './png.js';
import type { RfbBudget } from './rfb-budget.js';
import { RfbClient, type RfbRect } from './rfb-client.js';
import type { LiveScreen, ScreenFrame, ScreenInput } from './types.js';
import { VNC_COMMAND, VNC_ENV } from './vnc-command.js';

export interface ScreenSessionOptions {
  /** Frames per second at most, per session (default 20). Changes in between are merged. */
  maxFps?: number;
  /** How long the desktop may take to come up and greet (default 45 s: Chromium's first start is slow). */
  readyTimeoutMs?: number;
  /** The task id written into each frame. */
  task?: string;
  /** The largest screen accepted: a display task's own (its X server is the agent's, and may lie). */
  maxSize?: { width: number; height: number };
  /** What the session's parsing may cost (RfbBudget; the defaults suit a live view). */
  budget?: Partial<RfbBudget>;
}

interface Watcher {
  listener: (frame: ScreenFrame) => void;
  seq: number;
  /** Its whole-screen first frame is being encoded. */
  priming: boolean;
}

/**
 * While nobody watches, updates are asked for at most this often: lastChangeAt() and capture()
 * need a current framebuffer, but a screen that animates would otherwise stream ~100 MB/s of raw
 * pixels into this process (measured: ~0.3 CPU-seconds per second) for no one.
 */
const IDLE_REQUEST_MS = 250;

const DESKTOP_HINT = 'display tasks need the desktop image: use airlock/agent-desktop:1 (`airlock image build --desktop`)';

export class ScreenSession implements LiveScreen {
  /** Resolves when the stream ends: with the reason when it was not close(). Never rejects. */
  readonly ended: Promise<AirlockError | undefined>;

  readonly #stream: Duplex;
  readonly #client: RfbClient;
  readonly #task: string;
  readonly #minIntervalMs: number;
  readonly #watchers = new Set<Watcher>();
  readonly #counters = { framesEmitted: 0, pngBytes: 0, encodeMs: 0 };
  #stderr = '';
  /** The first stdout bytes before the handshake: where the engine reports an exec that failed to start. */
  #preamble = '';
  #closed = false;
  #endedWith!: (error: AirlockError | undefined) => void;
  // Set once the first full update has filled the framebuffer; before that the screen is black.
  #filled = false;
  #filledWaiters: Array<(filled: boolean) => void> = [];
  #updateWaiters: Array<() => void> = [];
  #lastChangeAt = 0;
  /** A ping is out: its one-pixel answer is not a change of the screen. */
  #pinged = false;
  /** Union of what changed since the last frame: tracked only while someone watches. */
  #dirty: RfbRect | undefined;
  #encoding = false;
  #lastFrameAt = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Pixels of the frame being encoded; reused, since frames are encoded one at a time. */
  #scratch = Buffer.alloc(0);

  private constructor(stream: Duplex, options: ScreenSessionOptions, onReady: () => void, onFail: (error: AirlockError) => void) {
    this.#stream = stream;
    this.#task = options.task ?? '';
    this.#minIntervalMs = 1000 / Math.max(1, options.maxFps ?? 20);
    this.ended = new Promise((resolve) => (this.#endedWith = resolve));
    this.#client = new RfbClient({ write: (data) => !this.#closed && !stream.destroyed && stream.write(data) }, {
      onReady,
      onUpdate: (rects) => this.#updated(rects),
      onResize: (width, height) => {
        if (this.#watchers.size > 0) this.#dirty = { x: 0, y: 0, w: width, h: height };
      },
      onError: (error) => {
        const failure = this.#client.width > 0 ? error : this.#startError(undefined, error);
        onFail(failure);
        this.#end(failure);
      },
      // The parser caught up with a backlog: read from the engine again.
      onDrain: () => {
        if (!this.#closed) stream.resume();
      },
    }, options.maxSize, options.budget);
    this.#client.requestIntervalMs = IDLE_REQUEST_MS;
    const frames = new DockerFrameParser((name, piece) => {
      if (name === 'stdout') {
        if (this.#client.width === 0 && this.#preamble.length < 2048) this.#preamble += piece.subarray(0, 2048).toString('utf8');
        // A backlog the parser has not worked off yet: the engine's stream waits (and x11vnc with it).
        if (!this.#client.push(piece)) stream.pause();
      }
      else this.#stderr = (this.#stderr + piece.toString('utf8')).slice(-2048);
    });
    stream.on('data', (chunk: Buffer) => frames.push(chunk));
    const gone = (cause?: Error) => {
      const error = this.#client.ready
        ? new AirlockError('internal', `the live screen stream ended${this.#why(cause)}`)
        : this.#startError(cause);
      onFail(error);
      this.#end(this.#closed ? undefined : error);
    };
    stream.on('end', () => gone());
    stream.on('close', () => gone());
    stream.on('error', (error) => gone(error));
  }

  /**
   * Starts x11vnc in the (running) container (VNC_COMMAND) as SCREEN_UID and completes the RFB
   * handshake. The exec's stdout, which this session reads, is held only by SCREEN_UID's processes.
   */
  static async open(container: Pick<BackendContainer, 'exec'>, options: ScreenSessionOptions = {}): Promise<ScreenSession> {
    let stream: Duplex;
    try {
      stream = await container.exec({ command: VNC_COMMAND, env: VNC_ENV, workdir: '/', user: `${SCREEN_UID}:${SCREEN_UID}` });
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 404 || status === 409) throw new AirlockError('not_found', `no live screen: the task's container is not running (${(error as Error).message})`, undefined, { cause: error });
      throw error;
    }
    return new Promise<ScreenSession>((resolve, reject) => {
      let settled = false;
      const timeoutMs = options.readyTimeoutMs ?? 45_000;
      const timer = setTimeout(() => fail(new AirlockError('internal', `the task's screen did not answer within ${Math.round(timeoutMs / 1000)} s${session.#why()}`, DESKTOP_HINT)), timeoutMs);
      const fail = (error: AirlockError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        session.close();
        reject(error);
      };
      const session: ScreenSession = new ScreenSession(stream, options, () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(session);
      }, fail);
    });
  }

  get width(): number {
    return this.#client.width;
  }

  get height(): number {
    return this.#client.height;
  }

  /** Counters for benchmarks and diagnostics. */
  get stats(): { framesEmitted: number; pngBytes: number; encodeMs: number; bytesReceived: number; updates: number; rects: number; parseMs: number; backlog: number } {
    return { ...this.#counters, ...this.#client.stats, parseMs: this.#client.cpuMs, backlog: this.#client.backlog };
  }

  watch(listener: (frame: ScreenFrame) => void): () => void {
    const watcher: Watcher = { listener, seq: 0, priming: false };
    this.#watchers.add(watcher);
    this.#client.requestIntervalMs = 0; // a held-back request goes out now
    this.#pump();
    return () => {
      this.#watchers.delete(watcher);
      if (this.#watchers.size > 0) return;
      this.#dirty = undefined;
      this.#client.requestIntervalMs = IDLE_REQUEST_MS;
    };
  }

  async capture(): Promise<{ png: Buffer; width: number; height: number }> {
    await this.#whenFilled();
    // Unwatched, the next request may be held back: ask now, and take the update if the server has
    // one (it answers at once when something changed; when nothing did, the framebuffer is current).
    if (this.#client.flushRequest()) {
      await new Promise<void>((resolve) => {
        this.#updateWaiters.push(resolve);
        setTimeout(resolve, 150).unref();
      });
    }
    const { width, height } = this;
    const png = await encodePng(cropRgba(this.#client.framebuffer, width, { x: 0, y: 0, w: width, h: height }), width, height);
    return { png, width, height };
  }

  lastChangeAt(): number {
    return this.#lastChangeAt;
  }

  /** Asks the server for a sign of life (stats.bytesReceived grows when it answers). */
  ping(): void {
    this.#pinged = true;
    this.#client.ping();
  }

  input(event: ScreenInput): void {
    if (this.#closed) throw new AirlockError('not_found', 'the live screen has closed');
    if (event.type === 'pointer') this.#client.pointer(event.x, event.y, event.buttons);
    else this.#client.key(event.keysym, event.down);
  }

  /**
   * Ends the exec stream: x11vnc sees its client go and exits, so nothing is left running in the
   * container. Idempotent; the socket is destroyed shortly after in any case, so a stuck engine
   * connection cannot keep the process alive.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.stop();
    this.#watchers.clear();
    this.#dirty = undefined;
    clearTimeout(this.#timer);
    this.#stream.end();
    setTimeout(() => this.#stream.destroy(), 1000).unref();
    this.#end(undefined);
  }

  #updated(rects: RfbRect[]): void {
    const pong = this.#pinged && rects.length === 1 && rects[0]!.x === 0 && rects[0]!.y === 0 && rects[0]!.w === 1 && rects[0]!.h === 1;
    if (pong) this.#pinged = false;
    else this.#lastChangeAt = Date.now();
    for (const wake of this.#updateWaiters.splice(0)) wake();
    if (!this.#filled) {
      this.#filled = true;
      for (const wake of this.#filledWaiters.splice(0)) wake(true);
    }
    if (this.#watchers.size > 0) {
      for (const rect of rects) this.#dirty = this.#dirty ? union(this.#dirty, rect) : rect;
    }
    this.#pump();
  }

  /**
   * Sends what is due. One encode at a time: frames then reach each watcher in the order they were
   * read from the screen, so an older region never paints over a newer one. A new watcher's
   * whole-screen frame goes first and at once; changed regions wait for the fps budget.
   */
  #pump(): void {
    if (this.#encoding || this.#closed || !this.#filled || this.#watchers.size === 0) return;
    const newcomers = [...this.#watchers].filter((w) => w.seq === 0 && !w.priming);
    if (newcomers.length > 0) {
      for (const watcher of newcomers) watcher.priming = true;
      this.#emit({ x: 0, y: 0, w: this.width, h: this.height }, newcomers);
      return;
    }
    if (!this.#dirty) return;
    const wait = this.#lastFrameAt + this.#minIntervalMs - Date.now();
    if (wait > 0) {
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        this.#pump();
      }, wait);
      return;
    }
    const region = this.#dirty;
    this.#dirty = undefined;
    this.#lastFrameAt = Date.now();
    this.#emit(region, [...this.#watchers].filter((w) => w.seq > 0));
  }

  #emit(region: RfbRect, to: Watcher[]): void {
    this.#encoding = true;
    const { width, height } = this;
    const at = Date.now();
    // Cropped now, before more updates land in the framebuffer: the frame is the screen at `at`.
    if (this.#scratch.length < region.w * region.h * 4) this.#scratch = Buffer.allocUnsafe(width * height * 4);
    const pixels = cropRgba(this.#client.framebuffer, width, region, this.#scratch);
    const started = performance.now();
    encodePng(pixels, region.w, region.h).then((png) => {
      this.#counters.encodeMs += performance.now() - started;
      this.#counters.pngBytes += png.length;
      for (const watcher of to) {
        if (!this.#watchers.has(watcher)) continue; // unsubscribed meanwhile
        watcher.seq += 1;
        watcher.priming = false;
        this.#counters.framesEmitted += 1;
        try {
          watcher.listener({ task: this.#task, seq: watcher.seq, width, height, ...region, png, at });
        } catch {
          // A failing view must not stop the frames of the others.
        }
      }
    }, () => undefined).finally(() => {
      this.#encoding = false;
      this.#pump();
    });
  }

  /** Once the first update is in. (After the end, capture() still gives the last screen seen.) */
  #whenFilled(): Promise<void> {
    if (this.#filled) return Promise.resolve();
    const closed = () => new AirlockError('not_found', 'the live screen closed before it showed anything');
    if (this.#closed) return Promise.reject(closed());
    return new Promise((resolve, reject) => this.#filledWaiters.push((filled) => (filled ? resolve() : reject(closed()))));
  }

  #end(error: AirlockError | undefined): void {
    if (!this.#closed) {
      this.#closed = true;
      this.#client.stop();
      clearTimeout(this.#timer);
      this.#stream.destroy();
    }
    for (const wake of this.#filledWaiters.splice(0)) wake(false);
    this.#endedWith(error);
  }

  /** Why the screen did not come up: the engine's own words when the exec could not start. */
  #startError(cause?: Error, protocolError?: AirlockError): AirlockError {
    const engineSaid = /^(OCI runtime|exec failed|Error)/.test(this.#preamble) ? this.#preamble.trim() : '';
    if (/airlock-desktop.*(not found|no such file)|executable file not found/i.test(`${engineSaid} ${this.#stderr} ${cause?.message ?? ''}`)) {
      return new AirlockError('image_missing', `the task's image has no desktop: airlock-desktop is missing${this.#why(cause, engineSaid)}`, DESKTOP_HINT);
    }
    if (engineSaid) return new AirlockError('internal', `the task's screen did not start: ${engineSaid}`, DESKTOP_HINT);
    return protocolError ?? new AirlockError('internal', `the task's screen did not start${this.#why(cause)}`, DESKTOP_HINT);
  }

  #why(cause?: Error, engineSaid = ''): string {
    const text = engineSaid || this.#stderr.trim() || cause?.message;
    return text ? `: ${text.split('\n').slice(-3).join(' ')}` : '';
  }
}

function union(a: RfbRect, b: RfbRect): RfbRect {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, w: Math.max(a.x + a.w, b.x + b.w) - x, h: Math.max(a.y + a.h, b.y + b.h) - y };
}
