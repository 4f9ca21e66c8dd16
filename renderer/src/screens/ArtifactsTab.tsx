/**
 * A task's Artifacts tab: the files it collected, each with its size and sha256, shown inline
 * (ArtifactPreview), saved where the person chooses (the OS save dialog, in the main process), or
 * revealed in the file manager. The page names an artifact by its path as it was shown (hidden
 * characters made visible by api.ts); it never names or learns a host file of the person's.
 */
import { useState } from 'react';
import type { IpcError, SavedArtifactInfo, TaskInfo } from '../../../preload/contract';
import { ArtifactPreview } from '../components/ArtifactPreview';
import { EmptyState, ErrorPanel } from '../components/common';
import { api, describeError } from '../lib/api';
import type { EventLog } from '../lib/event-log';
import { formatSize } from '../lib/format';

type Outcome = { kind: 'saved'; path: string; saved: SavedArtifactInfo } | { kind: 'error'; path: string; error: IpcError };

export function ArtifactsTab({ task, log, info }: { task: string; log: EventLog; info: TaskInfo | undefined }) {
  const [shown, setShown] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  if (log.artifacts.length === 0) {
    return <EmptyState title="No artifacts yet">Files the agent writes to its manifest's <code>outputs</code> are collected when it exits, with their sha256.</EmptyState>;
  }
  const act = async (path: string, action: 'save' | 'reveal') => {
    setBusy(path);
    setOutcome(null);
    try {
      if (action === 'save') {
        const saved = await api.artifacts.save({ task, path });
        if (saved) setOutcome({ kind: 'saved', path, saved });
      } else {
        await api.artifacts.reveal({ task, path });
      }
    } catch (error) {
      setOutcome({ kind: 'error', path, error: describeError(error) });
    } finally {
      setBusy(null);
    }
  };
  return (
    <div className="table-wrap" data-artifacts>
      {info && <p className="muted">Collected into <code>{info.artifactsDir}</code></p>}
      {outcome?.kind === 'saved' && (
        <p className="notice" role="status" data-artifact-saved>Saved {outcome.path} as {outcome.saved.name} ({formatSize(outcome.saved.size)}, sha256 {outcome.saved.sha256.slice(0, 16)}… as recorded).</p>
      )}
      {outcome?.kind === 'error' && <ErrorPanel error={outcome.error} title={`Could not save or reveal ${outcome.path}`} />}
      <table className="table">
        <thead><tr><th>Path</th><th>Size</th><th>sha256</th><th /></tr></thead>
        <tbody>
          {log.artifacts.map((a) => (
            <tr key={a.path} data-artifact={a.path}>
              <td className="mono">{a.path}</td>
              <td>{a.note ?? formatSize(a.size)}</td>
              <td className="mono small">{a.sha256?.slice(0, 16) ?? ''}</td>
              <td className="row-actions">
                {a.sha256 && (
                  <>
                    <button type="button" className="link" aria-label={`Show ${a.path}`} onClick={() => setShown(shown === a.path ? null : a.path)}>{shown === a.path ? 'Hide' : 'Show'}</button>{' '}
                    <button type="button" className="link" aria-label={`Save ${a.path}`} disabled={busy !== null} onClick={() => void act(a.path, 'save')}>Save…</button>{' '}
                    <button type="button" className="link" aria-label={`Reveal ${a.path}`} disabled={busy !== null} onClick={() => void act(a.path, 'reveal')}>Reveal</button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown && <ArtifactPreview task={task} path={shown} />}
    </div>
  );
}
