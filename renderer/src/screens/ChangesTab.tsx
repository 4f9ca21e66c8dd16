/**
 * A task's Changes tab: what the agent changed in its copy of the project, file by file, as a
 * side-by-side or unified diff; Apply (all or nothing, optionally three ways) and Discard, each
 * after a confirmation. Everything here came out of the sandbox: file names and code are React text
 * (never markup), with hidden characters made visible by api.ts.
 */
import { useEffect, useMemo, useState } from 'react';
import { Diff, Hunk, type FileData } from 'react-diff-view';
import 'react-diff-view/style/index.css';
import type { AppliedChange, ChangeFileInfo, ChangeView, IpcError } from '../../../preload/contract';
import { Badge, EmptyState, ErrorPanel, type BadgeTone } from '../components/common';
import { api, describeError } from '../lib/api';
import { diffsOfFiles, fileDiffs } from '../lib/change-diff';
import { dateTime } from '../lib/format';
import { highlightedTokens } from '../lib/diff-highlight';
import { useCancelOnEscape } from '../components/useCancelOnEscape';

type ViewType = 'split' | 'unified';
type Confirming = 'apply' | 'discard' | null;

const STATUS_TONE: Record<ChangeFileInfo['status'], BadgeTone> = { added: 'ok', modified: 'info', deleted: 'bad', renamed: 'warn', mode: 'muted' };

/** How long after one answer the tab asks again for a running task's change (the engine collects it anew each time). */
export const LIVE_REFRESH_MS = 3000;

export function ChangesTab({ task, running }: { task: string; running: boolean }) {
  const [change, setChange] = useState<ChangeView | null>(null);
  const [loadError, setLoadError] = useState<IpcError | null>(null);
  const [version, setVersion] = useState(0);
  /** The version whose request has been answered: the next one is asked for only after it (never two at once). */
  const [settled, setSettled] = useState(-1);
  useEffect(() => {
    let current = true;
    api.review.get(task).then(
      (value) => current && (setChange(value), setLoadError(null)),
      (error: unknown) => current && (setChange(null), setLoadError(describeError(error))),
    ).finally(() => current && setSettled(version));
    return () => {
      current = false;
    };
    // `running` too: the change collected at the task's end is read once it is over.
  }, [task, version, running]);
  // While the task runs, what it has changed so far, a few seconds after each answer; stops at its end or when the tab goes.
  useEffect(() => {
    if (!running || settled !== version) return undefined;
    const timer = setTimeout(() => setVersion((v) => v + 1), LIVE_REFRESH_MS);
    return () => clearTimeout(timer);
  }, [running, settled, version]);
  const refresh = () => setVersion((v) => v + 1);

  const live = running && (
    <p className="muted" data-live-change>
      The task is still running: this is what it has changed so far, read again every {LIVE_REFRESH_MS / 1000} s.{' '}
      <button type="button" className="link" onClick={refresh}>Refresh</button>
    </p>
  );
  if (loadError?.code === 'not_found') return <>{live}<EmptyState title={running ? 'No change yet' : 'No change stored'}>{loadError.message}</EmptyState></>;
  if (loadError) return <>{live}<ErrorPanel error={loadError} title="Could not read this task's change" /></>;
  if (!change) return <p className="muted">Reading the change…</p>;
  return <>{live}<ChangeReview change={change} running={running} onChanged={refresh} /></>;
}

function ChangeReview({ change, running, onChanged }: { change: ChangeView; running: boolean; onChanged: () => void }) {
  const diffs = useMemo(() => diffsOfFiles(change.files, fileDiffs(change.patch)), [change.files, change.patch]);
  // Chosen by path, so a live refresh that adds or drops files keeps the one being read.
  const [selectedPath, setSelectedPath] = useState<string | null>(null);
  const selected = Math.max(0, change.files.findIndex((f) => f.path === selectedPath));
  const [viewType, setViewType] = useState<ViewType>('split');
  const [confirming, setConfirming] = useState<Confirming>(null);
  const [outcome, setOutcome] = useState<AppliedChange | null>(null);
  const [actionError, setActionError] = useState<IpcError | null>(null);
  const file = change.files[selected];
  const totals = useMemo(() => change.files.reduce((sum, f, i) => {
    const counts = countsOf(diffs[i], f);
    return { added: sum.added + counts.added, removed: sum.removed + counts.removed };
  }, { added: 0, removed: 0 }), [change.files, diffs]);

  if (change.files.length === 0) return <EmptyState title="No changes">The agent left the project as it was.</EmptyState>;
  return (
    <div className="changes" data-changes>
      <header className="changes-head">
        <div>
          <strong>{change.files.length} {change.files.length === 1 ? 'file' : 'files'}</strong>{' '}
          <LineCounts {...totals} />{' '}
          <span className="muted">in {change.projectName}</span>
          {change.branch && <p className="muted" data-branch>Its branch: <code>git checkout {change.branch}</code></p>}
          {change.appliedAt && <p data-applied><Badge tone="ok">applied</Badge> {dateTime(change.appliedAt)}</p>}
        </div>
        <div className="changes-actions">
          <div role="group" aria-label="Diff view">
            <button type="button" className={viewType === 'split' ? 'tab active' : 'tab'} aria-pressed={viewType === 'split'} onClick={() => setViewType('split')}>Side by side</button>
            <button type="button" className={viewType === 'unified' ? 'tab active' : 'tab'} aria-pressed={viewType === 'unified'} onClick={() => setViewType('unified')}>Unified</button>
          </div>
          {/* A running task's change is not final: applied or dropped once the task is over. */}
          {!change.appliedAt && <button type="button" disabled={running} title={running ? 'the task is still running' : undefined} onClick={() => setConfirming('apply')}>Apply…</button>}
          <button type="button" className="secondary" disabled={running} onClick={() => setConfirming('discard')}>Discard…</button>
        </div>
      </header>
      {actionError && <ErrorPanel error={actionError} title="The change was not applied" />}
      {outcome && <AppliedNotice outcome={outcome} />}
      <div className="changes-body">
        <ul className="changes-files" aria-label="Changed files">
          {change.files.map((f, i) => (
            <li key={`${f.oldPath ?? ''}>${f.path}`}>
              <button type="button" className={i === selected ? 'changes-file active' : 'changes-file'} aria-current={i === selected} onClick={() => setSelectedPath(f.path)} data-file={f.path}>
                <Badge tone={STATUS_TONE[f.status]}>{f.status}</Badge>
                <span className="changes-path">{f.oldPath ? `${f.oldPath} → ${f.path}` : f.path}</span>
                <span className="changes-counts">{f.binary ? 'binary' : <LineCounts {...countsOf(diffs[i], f)} />}</span>
              </button>
            </li>
          ))}
        </ul>
        {file && <FileDiff file={file} diff={diffs[selected]} viewType={viewType} />}
      </div>
      {confirming && (
        <ConfirmChange
          kind={confirming} change={change}
          onCancel={() => setConfirming(null)}
          onDone={(result, error) => {
            setConfirming(null);
            setActionError(error);
            setOutcome(result);
            if (!error) onChanged();
          }}
        />
      )}
    </div>
  );
}

/** Lines added and removed as the diff shown has them (the stored summary's counts when it has no hunks). */
function countsOf(diff: FileData | undefined, file: ChangeFileInfo): { added: number; removed: number } {
  if (!diff || diff.hunks.length === 0) return { added: file.added, removed: file.removed };
  const changes = diff.hunks.flatMap((hunk) => hunk.changes);
  return { added: changes.filter((c) => c.type === 'insert').length, removed: changes.filter((c) => c.type === 'delete').length };
}

function LineCounts({ added, removed }: { added: number; removed: number }) {
  return <><span className="diff-added">+{added}</span> <span className="diff-removed">−{removed}</span></>;
}

function FileDiff({ file, diff, viewType }: { file: ChangeFileInfo; diff: FileData | undefined; viewType: ViewType }) {
  const tokens = useMemo(() => (diff ? highlightedTokens(diff.hunks, file.path) : null), [diff, file.path]);
  const modeChanged = file.oldMode !== undefined && file.newMode !== undefined && file.oldMode !== file.newMode;
  return (
    <section className="changes-diff" aria-label={`Diff of ${file.path}`}>
      <p className="changes-diff-title"><code>{file.path}</code></p>
      {modeChanged && <p className="muted">mode {file.oldMode!.toString(8)} → {file.newMode!.toString(8)}</p>}
      {file.symlinkTarget !== undefined && <p className="muted">symbolic link to <code>{file.symlinkTarget}</code></p>}
      {file.binary || diff?.isBinary ? (
        <p className="muted">Binary file: not shown.</p>
      ) : !diff || diff.hunks.length === 0 ? (
        <p className="muted">No lines changed.</p>
      ) : (
        <Diff viewType={viewType} diffType={diff.type} hunks={diff.hunks} tokens={tokens}>
          {(hunks) => hunks.map((hunk) => <Hunk key={hunk.content} hunk={hunk} />)}
        </Diff>
      )}
    </section>
  );
}

function AppliedNotice({ outcome }: { outcome: AppliedChange }) {
  return (
    <div className="notice" role="status" data-applied-result>
      <p>Applied: {outcome.files.length} {outcome.files.length === 1 ? 'file' : 'files'} written.</p>
      {outcome.merged.length > 0 && <p>Merged with your own edits: {outcome.merged.join(', ')}</p>}
      {outcome.notices.map((n) => <p key={n.path} className="muted">{n.path}: the {n.dropped} bit was not given.</p>)}
    </div>
  );
}

/** Apply or Discard, after the person has read what it will do. */
function ConfirmChange({ kind, change, onCancel, onDone }: {
  kind: 'apply' | 'discard'; change: ChangeView; onCancel: () => void;
  onDone: (result: AppliedChange | null, error: IpcError | null) => void;
}) {
  const [threeWay, setThreeWay] = useState(false);
  const [busy, setBusy] = useState(false);
  const cancelButton = useCancelOnEscape(onCancel);
  const confirm = async () => {
    setBusy(true);
    try {
      if (kind === 'apply') onDone(await api.review.apply({ task: change.task, threeWay }), null);
      else onDone(null, (await api.review.discard(change.task), null));
    } catch (error) {
      onDone(null, describeError(error));
    }
  };
  const count = `${change.files.length} ${change.files.length === 1 ? 'file' : 'files'}`;
  return (
    <div className="overlay overlay-top" role="presentation" onMouseDown={(e) => e.target === e.currentTarget && onCancel()}>
      <section className="dialog dialog-small" role="dialog" aria-modal="true" aria-labelledby="change-confirm-title" data-confirm-change={kind}>
        <h2 id="change-confirm-title">{kind === 'apply' ? `Apply the change to ${change.projectName}?` : 'Discard this change?'}</h2>
        {kind === 'apply' ? (
          <>
            <p>{count} will be written to your project folder, all or none. If any of them changed since the task started, nothing is written and they are named.</p>
            <label className="check"><input type="checkbox" checked={threeWay} onChange={(e) => setThreeWay(e.target.checked)} /> Merge three ways with my own edits instead (3-way)</label>
          </>
        ) : (
          <p>The stored change ({count}) is deleted; your project is not touched.{change.branch ? ` The branch ${change.branch} stays.` : ''}</p>
        )}
        <footer className="dialog-foot">
          <button type="button" className="secondary" ref={cancelButton} onClick={onCancel}>Cancel</button>
          <button type="button" disabled={busy} onClick={() => void confirm()} data-confirm>{kind === 'apply' ? 'Apply' : 'Discard'}</button>
        </footer>
      </section>
    </div>
  );
}
