import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import type { IpcError } from '../../../preload/contract';
import { Badge, ErrorPanel } from '../components/common';
import { api, describeError } from '../lib/api';
import { useScreenInput, useScreenWatch } from './useLiveScreen';
import { useCancelOnEscape } from '../components/useCancelOnEscape';

/**
 * A running display task's screen, live and view-only until the person takes control (after a
 * confirmation: it is recorded in the action log); then their pointer and keys reach the agent's
 * screen while the canvas has focus, until they give control back.
 */
export interface LiveScreenTask {
  id: string;
  agent: string;
  display: { width: number; height: number };
  /** Who holds control, if anyone. */
  control?: string | undefined;
}

/**
 * `elsewhere`: the task runs in another Airlock process (the CLI): its screen can be watched here,
 * but control stays with the process whose log records it.
 */
export function LiveScreen({ info, elsewhere = false }: { info: LiveScreenTask; elsewhere?: boolean }) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const watch = useScreenWatch(info.id, canvasRef);
  const [confirming, setConfirming] = useState(false);
  const [controlling, setControlling] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<IpcError | null>(null);
  const holder = info.control;
  useEffect(() => {
    if (!holder) setControlling(false); // given back, or the screen went with the task
  }, [holder]);
  const onInputError = useCallback((failed: IpcError) => setError(failed), []);
  const letGo = useScreenInput(canvasRef, info.id, watch.size, controlling && holder !== undefined, onInputError);
  const { width, height } = watch.size ?? info.display;

  const take = () => takeControl(() => api.screen.control({ task: info.id, take: true }), { setBusy, setConfirming, setError, taken: () => setControlling(true) });
  const giveBack = async () => {
    letGo(); // keys and buttons still held are let go of first, while input is still accepted
    setControlling(false);
    try {
      await api.screen.control({ task: info.id, take: false });
    } catch (caught) {
      setError(describeError(caught));
    }
  };

  const mine = controlling && holder !== undefined;
  return (
    <section className="panel live-screen" aria-label="Live screen" data-live-screen-panel>
      <div className="live-head">
        <h2>Live screen</h2>
        {mine ? <Badge tone="warn">You have control ({holder})</Badge>
          : holder ? <Badge tone="warn">{holder} has control</Badge>
            : <Badge tone="info" title="You see the agent's screen; nothing you do here reaches it">View only</Badge>}
        {elsewhere && <span className="muted small">run from the CLI: watch only</span>}
        <span className="muted small fps" data-fps>{watch.live ? `${watch.fps} fps${watch.fps === 0 ? ' · no changes' : ''}` : 'waiting for the screen…'}</span>
        <span className="muted small">{width}×{height}</span>
        <span className="live-actions">
          {elsewhere ? null : mine ? <button type="button" className="secondary" onClick={() => void giveBack()} data-give-back>Give back control</button>
            : <button type="button" onClick={() => setConfirming(true)} disabled={!watch.live || holder !== undefined} data-take-control>Take control…</button>}
        </span>
      </div>
      {watch.error && <ErrorPanel error={watch.error} title="Cannot show the screen" />}
      {error && <ErrorPanel error={error} title="Could not do that" />}
      <div className={mine ? 'screen-frame controlling' : 'screen-frame'}>
        <canvas
          ref={canvasRef}
          className="screen-canvas"
          width={width}
          height={height}
          tabIndex={mine ? 0 : -1}
          style={{ aspectRatio: `${width} / ${height}`, width: `min(100%, calc(62vh * ${width / height}))` }}
          aria-label={mine ? 'The agent\'s screen: your pointer and keys go to it' : 'The agent\'s screen (view only)'}
          data-live-screen
        />
      </div>
      {mine && <p className="muted small">Your pointer and keys go to the agent's screen while it has focus (click it). Everything you do is recorded in the action log.</p>}
      {confirming && (
        <ConfirmControl title={`Take control of ${info.agent}'s screen?`} busy={busy} onConfirm={() => void take()} onCancel={() => setConfirming(false)}>
          Your input goes to the agent's screen: your pointer and keys reach its browser as if the agent had sent them. This is recorded in the action log, and so is giving control back.
        </ConfirmControl>
      )}
    </section>
  );
}

/**
 * Take control after the person confirmed (the screen's or the terminal's): busy while asking; the
 * confirmation closes either way; a refusal (another client holds it) is shown.
 */
export async function takeControl(ask: () => Promise<void>, ui: { setBusy(busy: boolean): void; setConfirming(open: boolean): void; setError(error: IpcError | null): void; taken(): void }): Promise<void> {
  ui.setBusy(true);
  try {
    await ask();
    ui.taken();
    ui.setError(null);
  } catch (caught) {
    ui.setError(describeError(caught));
  } finally {
    ui.setConfirming(false);
    ui.setBusy(false);
  }
}

/** Asks before a person's input reaches an agent (its screen, its terminal): taking control is recorded. */
export function ConfirmControl({ title, children, busy, onConfirm, onCancel }: { title: string; children: ReactNode; busy: boolean; onConfirm: () => void; onCancel: () => void }) {
  const cancelButton = useCancelOnEscape(onCancel);
  return (
    <div className="overlay overlay-top" role="presentation" onMouseDown={(e) => e.target === e.currentTarget && onCancel()}>
      <section className="dialog dialog-small" role="dialog" aria-modal="true" aria-labelledby="control-title" data-confirm-control>
        <h2 id="control-title">{title}</h2>
        <p>{children}</p>
        <footer className="dialog-foot">
          <button type="button" className="secondary" ref={cancelButton} onClick={onCancel}>Cancel</button>
          <button type="button" disabled={busy} onClick={onConfirm} data-confirm>{busy ? 'Taking control…' : 'Take control'}</button>
        </footer>
      </section>
    </div>
  );
}
