import type Dockerode from 'dockerode';
import type { AgentRef } from '../audit/events.js';
import type { Clock } from '../clock.js';
import { ScreenRecorder } from '../desktop/screen-recorder.js';
import type { ScreenRegistry } from '../desktop/screen-registry.js';
import { ScreenSession } from '../desktop/screen-session.js';
import type { DisplaySpec, ScreenshotInfo } from '../desktop/types.js';

/** The sandbox's command for a display task: the desktop first, then the agent's own command. */
export function desktopCommand(command: string[] | undefined): string[] {
  return ['airlock-desktop', 'run', ...(command ?? [])];
}

/** What the sandbox's environment gets for a display task (besides the browser's proxy and CA). */
export function desktopEnv(display: DisplaySpec): Record<string, string> {
  return { AIRLOCK_DISPLAY: `${display.width}x${display.height}` };
}

export interface TaskDesktop {
  /** The browser loaded a page (from the gateway): capture it once drawn. */
  navigated(url: string): void;
  /** The last screenshot, then the live view ends. Call before the container is killed. */
  stop(): Promise<void>;
}

/**
 * Connects to a display task's screen once its container has started — through an exec stream,
 * never a port — then registers it for the live view and records screenshots. Runs in the
 * background: the agent is not held up, and a screen that fails to come up is an event, not a
 * failed task (the agent's own work may not need it).
 */
export function startTaskDesktop(options: {
  container: Dockerode.Container;
  task: string;
  agent: AgentRef;
  display: DisplaySpec;
  taskDir: string;
  clock: Clock;
  screens: ScreenRegistry | undefined;
  emit: (kind: 'screen.started' | 'screen.capture', data: Record<string, unknown>) => void;
}): TaskDesktop {
  let recorder: ScreenRecorder | undefined;
  let session: ScreenSession | undefined;
  let unregister: (() => void) | undefined;
  let stopped = false;
  const opening = ScreenSession.open(options.container, { task: options.task }).then((opened) => {
    if (stopped) {
      opened.close();
      return;
    }
    session = opened;
    options.emit('screen.started', { width: opened.width, height: opened.height, screenshotEveryMs: options.display.screenshotEveryMs });
    unregister = options.screens?.add(options.task, options.agent, opened);
    recorder = new ScreenRecorder({
      screen: opened, taskDir: options.taskDir, clock: options.clock, everyMs: options.display.screenshotEveryMs,
      emit: (info: Omit<ScreenshotInfo, 'time'>) => options.emit('screen.capture', { ...info }),
    });
    recorder.start();
  }, (error: unknown) => {
    if (!stopped) options.emit('screen.started', { error: (error as Error).message });
  });
  return {
    navigated: (url) => recorder?.navigated(url),
    async stop() {
      stopped = true;
      await opening;
      await recorder?.stop();
      unregister?.();
      session?.close();
    },
  };
}
