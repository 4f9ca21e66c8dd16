/**
 * The live view's two halves: watching a task's screen onto a canvas (frames pushed to this
 * window only, while it watches), and — once the person has taken control — forwarding their
 * pointer and keys to it in screen pixels and X11 keysyms.
 */
import { useEffect, useRef, useState, type RefObject } from 'react';
import type { IpcError, ScreenInput } from '../../../preload/contract';
import { api, describeError } from '../lib/api';
import { FramePainter } from '../lib/frame-painter';
import { keysymOf, wheelButton, xButtons } from '../lib/keysym';

export interface ScreenWatch {
  /** The first frame is on the canvas. */
  live: boolean;
  size: { width: number; height: number } | null;
  fps: number;
  error: IpcError | null;
}

/** Watches the task's screen while mounted (retrying until the screen is up) and paints it on the canvas. */
export function useScreenWatch(task: string, canvasRef: RefObject<HTMLCanvasElement | null>): ScreenWatch {
  const [live, setLive] = useState(false);
  const [size, setSize] = useState<ScreenWatch['size']>(null);
  const [fps, setFps] = useState(0);
  const [error, setError] = useState<IpcError | null>(null);

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return undefined;
    const painter = new FramePainter(canvas, () => setLive(true));
    // Subscribed before asking, so the first (whole-screen) frame cannot slip past.
    const unsubscribe = api.subscribe.screen((frame) => {
      if (frame.task === task) painter.push(frame);
    });
    let cancelled = false;
    let watching = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const attempt = async () => {
      try {
        const screen = await api.screen.watch(task);
        watching = true;
        if (cancelled) return void api.screen.unwatch(task).catch(() => undefined);
        setSize(screen);
        setError(null);
      } catch (caught) {
        if (cancelled) return;
        const info = describeError(caught);
        // The screen comes up a moment after the task starts.
        if (info.code === 'not_found') retry = setTimeout(() => void attempt(), 1000);
        else setError(info);
      }
    };
    void attempt();
    const meter = setInterval(() => setFps(painter.fps()), 1000);
    return () => {
      cancelled = true;
      clearTimeout(retry);
      clearInterval(meter);
      painter.close();
      unsubscribe();
      if (watching) void api.screen.unwatch(task).catch(() => undefined);
    };
  }, [task, canvasRef]);

  return { live, size, fps, error };
}

/**
 * While `active`, the canvas's pointer, wheel and keys go to the screen (the canvas has focus for
 * keys; they do not reach the app's shortcuts). Returns a function that lets go of every key and
 * button still held, to call before giving control back.
 */
export function useScreenInput(
  canvasRef: RefObject<HTMLCanvasElement | null>, task: string, size: ScreenWatch['size'], active: boolean, onError: (error: IpcError) => void,
): () => void {
  const letGo = useRef<() => void>(() => undefined);
  const width = size?.width ?? 0;
  const height = size?.height ?? 0;

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!active || !canvas || width === 0 || height === 0) return undefined;
    let failed = false;
    const send = (input: ScreenInput) => void api.screen.input({ task, input }).catch((caught: unknown) => {
      if (!failed) onError(describeError(caught));
      failed = true;
    });
    let buttons = 0;
    let at = { x: 0, y: 0 };
    let frame = 0;
    const held = new Set<number>();
    const clamp = (value: number, max: number) => Math.min(max - 1, Math.max(0, Math.floor(value)));
    const place = (event: MouseEvent) => {
      const rect = canvas.getBoundingClientRect();
      at = { x: clamp(((event.clientX - rect.left) * width) / rect.width, width), y: clamp(((event.clientY - rect.top) * height) / rect.height, height) };
    };
    const flushMove = () => {
      frame = 0;
      send({ type: 'pointer', ...at, buttons });
    };
    const onMove = (event: PointerEvent) => {
      place(event);
      if (!frame) frame = requestAnimationFrame(flushMove); // at most one move per frame
    };
    const onButton = (event: PointerEvent) => {
      event.preventDefault();
      if (event.type === 'pointerdown') {
        canvas.focus();
        canvas.setPointerCapture(event.pointerId);
      }
      cancelAnimationFrame(frame);
      frame = 0;
      place(event);
      buttons = xButtons(event.buttons);
      send({ type: 'pointer', ...at, buttons });
    };
    const onWheel = (event: WheelEvent) => {
      event.preventDefault();
      place(event);
      send({ type: 'pointer', ...at, buttons: buttons | wheelButton(event.deltaY) });
      send({ type: 'pointer', ...at, buttons });
    };
    const onKey = (event: KeyboardEvent) => {
      const keysym = keysymOf(event.key, event.code);
      if (keysym === undefined) return;
      event.preventDefault();
      event.stopPropagation();
      const down = event.type === 'keydown';
      if (down) held.add(keysym);
      else held.delete(keysym);
      send({ type: 'key', keysym, down });
    };
    const release = () => {
      for (const keysym of held) send({ type: 'key', keysym, down: false });
      held.clear();
      if (buttons !== 0) {
        buttons = 0;
        send({ type: 'pointer', ...at, buttons });
      }
    };
    const noMenu = (event: Event) => event.preventDefault();
    const listeners: [string, EventListener, AddEventListenerOptions?][] = [
      ['pointermove', onMove as EventListener], ['pointerdown', onButton as EventListener], ['pointerup', onButton as EventListener],
      ['wheel', onWheel as EventListener, { passive: false }], ['keydown', onKey as EventListener], ['keyup', onKey as EventListener],
      ['blur', release], ['contextmenu', noMenu],
    ];
    for (const [type, listener, options] of listeners) canvas.addEventListener(type, listener, options);
    letGo.current = release;
    canvas.focus();
    return () => {
      for (const [type, listener] of listeners) canvas.removeEventListener(type, listener);
      cancelAnimationFrame(frame);
      failed = true; // control may be gone already (the task ended): nothing to report
      release();
      letGo.current = () => undefined;
    };
  }, [canvasRef, task, width, height, active, onError]);

  return () => letGo.current();
}
