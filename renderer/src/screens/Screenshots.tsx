import { useEffect, useRef, useState } from 'react';
import type { IpcError, ScreenshotInfo } from '../../../preload/contract';
import { EmptyState, ErrorPanel } from '../components/common';
import { api, describeError } from '../lib/api';
import { clockTime, formatSize } from '../lib/format';

/**
 * Steps through a task's screenshots (from its screen.capture events in the audit trail), while it
 * runs and after. Each image is checked against its recorded sha256 in main before it is shown.
 * `count` is how many screen.capture events the log has seen: a new one reloads the list.
 */
export function Screenshots({ task, count }: { task: string; count: number }) {
  const [shots, setShots] = useState<ScreenshotInfo[]>([]);
  const [loaded, setLoaded] = useState(false);
  /** Position in the list; null follows the newest. */
  const [chosen, setChosen] = useState<number | null>(null);
  const [listError, setListError] = useState<IpcError | null>(null);

  useEffect(() => {
    let cancelled = false;
    api.screen.shots(task).then((list) => {
      if (cancelled) return;
      setShots(list);
      setLoaded(true);
      setListError(null);
    }, (caught: unknown) => !cancelled && setListError(describeError(caught)));
    return () => {
      cancelled = true;
    };
  }, [task, count]);

  if (listError) return <ErrorPanel error={listError} title="Cannot list the screenshots" />;
  if (shots.length === 0) {
    return <EmptyState title={loaded ? 'No screenshots yet' : 'Loading screenshots…'}>A display task's screen is kept as a screenshot when it starts, at each navigation, every few seconds while it changes, when a person takes control and at the end, each with its sha256 in the action log.</EmptyState>;
  }
  const position = Math.min(chosen ?? shots.length - 1, shots.length - 1);
  const shot = shots[position]!;
  const go = (to: number) => setChosen(to >= shots.length - 1 ? null : Math.max(0, to));
  return (
    <section className="screenshots" aria-label="Screenshots" data-screenshots>
      <div className="shots-bar">
        <button type="button" className="secondary small-button" onClick={() => go(position - 1)} disabled={position === 0} aria-label="Previous screenshot">← Prev</button>
        <input type="range" min={1} max={shots.length} value={position + 1} onChange={(e) => go(Number(e.target.value) - 1)} aria-label="Screenshot" disabled={shots.length < 2} />
        <button type="button" className="secondary small-button" onClick={() => go(position + 1)} disabled={position === shots.length - 1} aria-label="Next screenshot">Next →</button>
        <span className="fps small" data-shot-position>{position + 1} / {shots.length}</span>
      </div>
      <ShotMeta shot={shot} />
      <ShotImage task={task} shot={shot} />
    </section>
  );
}

function ShotMeta({ shot }: { shot: ScreenshotInfo }) {
  return (
    <div className="shot-meta small">
      <span><strong data-shot-reason>{shot.reason}</strong> · {clockTime(shot.time)} · {shot.width}×{shot.height} · {formatSize(shot.bytes)}</span>
      {shot.url && <span>page <code className="break">{shot.url}</code></span>}
      <span>sha256 <code className="break" data-shot-sha256>{shot.sha256}</code></span>
    </div>
  );
}

/** The PNG through a blob URL (CSP: img-src blob:), revoked as soon as it is replaced or unmounted. */
function ShotImage({ task, shot }: { task: string; shot: ScreenshotInfo }) {
  const [url, setUrl] = useState<string | null>(null);
  const [error, setError] = useState<IpcError | null>(null);
  const current = useRef<string | null>(null);
  const replace = (next: string | null) => {
    if (current.current) URL.revokeObjectURL(current.current);
    current.current = next;
    setUrl(next);
  };
  useEffect(() => () => {
    if (current.current) URL.revokeObjectURL(current.current);
    current.current = null;
  }, []);
  useEffect(() => {
    let cancelled = false;
    api.screen.shot({ task, index: shot.index }).then((png) => {
      if (cancelled) return;
      replace(URL.createObjectURL(new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' })));
      setError(null);
    }, (caught: unknown) => {
      if (cancelled) return;
      replace(null);
      setError(describeError(caught));
    });
    return () => {
      cancelled = true;
    };
  }, [task, shot.index]);
  if (error) return <ErrorPanel error={error} title={`Screenshot ${shot.index} is not shown`} />;
  return (
    <div className="shot-frame">
      {url ? <img className="shot-img" src={url} width={shot.width} height={shot.height} alt={`Screenshot ${shot.index} (${shot.reason})`} data-shot-index={shot.index} /> : <p className="muted">Loading…</p>}
    </div>
  );
}
