// The shapes shared by the desktop sandbox (a virtual screen with a browser inside a task's
// container), its live view and its screenshots: the runner, the service and the app agree on these.

/** The manifest's `display:` once checked: the virtual screen's size and the screenshot policy. */
export interface DisplaySpec {
  width: number;
  height: number;
  /** A screenshot this often while the screen changes (0 = only at navigations and at the end). */
  screenshotEveryMs: number;
}

/** One changed region of a task's screen, PNG-encoded: what the live view draws at (x, y). */
export interface ScreenFrame {
  task: string;
  /** Per-watch sequence number, from 1; the first frame of a watch is the whole screen. */
  seq: number;
  /** The whole screen's size (it may change: DesktopSize). */
  width: number;
  height: number;
  x: number;
  y: number;
  w: number;
  h: number;
  png: Uint8Array;
  /** Epoch ms when the region was read from the screen. */
  at: number;
}

/** Input from the person who took control: pointer in screen pixels, keys as X11 keysyms. */
export type ScreenInput =
  | { type: 'pointer'; x: number; y: number; buttons: number }
  | { type: 'key'; keysym: number; down: boolean };

/** Why a screenshot was taken. */
export type CaptureReason = 'start' | 'interval' | 'navigation' | 'control' | 'final';

/** A screenshot as the `screen.capture` event records it; the PNG is in the task's folder. */
export interface ScreenshotInfo {
  /** Per-task screenshot number, from 1. */
  index: number;
  time: string;
  reason: CaptureReason;
  width: number;
  height: number;
  bytes: number;
  sha256: string;
  /** Path relative to the task's folder, e.g. `screens/0001.png`. */
  file: string;
  /** The page the browser was navigating to, for `navigation`. */
  url?: string;
}

/** A task's screen while it runs (main/core/desktop/screen-session.ts). */
export interface LiveScreen {
  readonly width: number;
  readonly height: number;
  /** Changed regions as they come, at most a few dozen a second; the first is the whole screen. */
  watch(listener: (frame: ScreenFrame) => void): () => void;
  /** The whole screen now, as PNG. */
  capture(): Promise<{ png: Buffer; width: number; height: number }>;
  /** Epoch ms of the last change seen on the screen. */
  lastChangeAt(): number;
  /** Sends pointer/key input (only the registry calls this, once a person has taken control). */
  input(event: ScreenInput): void;
  close(): void;
}
