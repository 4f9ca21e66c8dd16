import fs from 'node:fs';
import path from 'node:path';
import type { AgentRef } from '../audit/events.js';
import type { Clock } from '../clock.js';
import { KeptScreen, type ContainerState, type KeptScreenTiming } from '../desktop/kept-screen.js';
import { ScreenRecorder } from '../desktop/screen-recorder.js';
import type { RfbBudget } from '../desktop/rfb-budget.js';
import type { ScreenRegistry } from '../desktop/screen-registry.js';
import { ScreenSession } from '../desktop/screen-session.js';
import { StallWatch } from '../desktop/stall-watch.js';
import type { DisplaySpec, ScreenshotInfo } from '../desktop/types.js';
import type { BackendContainer } from '../engine/backend.js';

/**
 * The sandbox's command for a display task: the desktop first, then the agent's own command. The
 * launcher is Airlock's own (assets/images/agent-desktop/airlock-desktop, run by the image's `sh`),
 * not whatever copy an image carries: what starts the screen is what this Airlock ships, also in an
 * image built before it.
 */
export function desktopCommand(command: string[] | undefined, assetsDir: string): string[] {
  const launcher = fs.readFileSync(path.join(assetsDir, 'images', 'agent-desktop', 'airlock-desktop'), 'utf8');
  return ['sh', '-c', launcher, 'airlock-desktop', 'run', ...(command ?? [])];
}

/** What the sandbox's environment gets for a display task (besides the browser's proxy and CA). */
export function desktopEnv(display: DisplaySpec): Record<string, string> {
  return { AIRLOCK_DISPLAY: `${display.width}x${display.height}` };
}

export interface TaskDesktop {
  /** The browser loaded a page (from the gateway): capture it once drawn; a screen that does not change is a stall. */
  navigated(url: string): void;
  /** The last screenshot, then the live view ends. Call before the container is killed. */
  stop(): Promise<void>;
}

/** What the task's log gets from its screen. */
export type DesktopEventKind = 'screen.started' | 'screen.capture' | 'screen.stalled' | 'policy.violation' | 'output.truncated';

/**
 * Connects to a display task's screen once its container has started — through an exec stream,
 * never a port — then registers it for the live view and records screenshots. Runs in the
 * background: the agent is not held up, and a screen that fails to come up is an event, not a
 * failed task (the agent's own work may not need it). The screen's helpers run as SCREEN_UID, but
 * the agent owns the X server they read and can still cut them off, and a session ends when its
 * stream goes over budget: a cut is a `policy.violation` (rule `screen.lost`, so onViolation
 * applies) and the screen is re-opened with backoff (see KeptScreen). Page loads that the screen
 * does not show are `screen.stalled` and a violation too (rule `screen.stalled`).
 */
export function startTaskDesktop(options: {
  container: BackendContainer;
  task: string;
  agent: AgentRef;
  display: DisplaySpec;
  taskDir: string;
  clock: Clock;
  screens: ScreenRegistry | undefined;
  emit: (kind: DesktopEventKind, data: Record<string, unknown>) => void;
  /** Screenshot caps (default SCREENSHOT_LIMITS) and the screen's re-open timing, for tests. */
  limits?: { maxShots?: number; maxBytes?: number };
  timing?: Partial<KeptScreenTiming>;
  /** How long page loads may leave the screen unchanged (default STALL_AFTER_MS). */
  stallAfterMs?: number;
  /** What each session's stream may cost (default DEFAULT_RFB_BUDGET). */
  budget?: Partial<RfbBudget>;
}): TaskDesktop {
  let recorder: ScreenRecorder | undefined;
  let unregister: (() => void) | undefined;
  const { emit, display } = options;
  const screen: KeptScreen = new KeptScreen({
    open: () => ScreenSession.open(options.container, {
      task: options.task, maxSize: { width: display.width, height: display.height }, ...(options.budget ? { budget: options.budget } : {}),
    }),
    containerState: () => containerState(options.container),
    clock: options.clock,
    ...(options.timing ? { timing: options.timing } : {}),
    onOpened: ({ width, height, reopened }) => {
      emit('screen.started', { width, height, screenshotEveryMs: display.screenshotEveryMs, ...(reopened > 0 ? { reopened } : {}) });
      if (recorder) return;
      unregister = options.screens?.add(options.task, options.agent, screen);
      recorder = new ScreenRecorder({
        screen, taskDir: options.taskDir, clock: options.clock, everyMs: display.screenshotEveryMs, ...options.limits,
        emit: (info: Omit<ScreenshotInfo, 'time'>) => emit('screen.capture', { ...info }),
        onLimit: (info) => emit('output.truncated', info),
      });
      recorder.start();
    },
    onOpenFailed: (error, retryInMs) => emit('screen.started', { error: error.message, ...(retryInMs !== undefined ? { retryInMs } : {}) }),
    onLost: ({ reason, losses, retryInMs }) => emit('policy.violation', {
      rule: 'screen.lost', losses, retryInMs,
      reason: `the screen's recording was cut while the task ran (${reason}); re-opening it in ${Math.round(retryInMs / 1000)} s`,
    }),
  });
  const stall = new StallWatch({
    screen, clock: options.clock, ...(options.stallAfterMs !== undefined ? { stallAfterMs: options.stallAfterMs } : {}),
    onStalled: ({ url, pageLoads, stillForMs }) => {
      emit('screen.stalled', { url, pageLoads, stillForMs });
      emit('policy.violation', {
        rule: 'screen.stalled', url, pageLoads,
        reason: `the screen did not change for ${Math.round(stillForMs / 1000)} s while the browser loaded ${pageLoads} page${pageLoads === 1 ? '' : 's'}: what it shows is not what the browser does`,
      });
    },
  });
  const opening = screen.start();
  return {
    navigated: (url) => {
      recorder?.navigated(url);
      if (recorder) stall.navigated(url);
    },
    async stop() {
      stall.stop();
      await opening;
      await recorder?.stop();
      unregister?.();
      screen.close();
    },
  };
}

async function containerState(container: BackendContainer): Promise<ContainerState> {
  const state = await container.state();
  if (!state.running) return 'gone';
  return state.paused ? 'paused' : 'running';
}
