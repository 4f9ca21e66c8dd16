import { useEffect, useRef, useState } from 'react';
import type { ApprovalInfo, IpcError } from '../../../preload/contract';
import { EmptyState, ErrorPanel } from '../components/common';
import { useNow } from '../components/useNow';
import { shortTask } from '../lib/format';
import { navigate } from '../lib/route';
import { useAgentsStore } from '../store/agents';
import { useApprovalsStore } from '../store/approvals';

function ApprovalCard({ request, now, compact }: { request: ApprovalInfo; now: number; compact: boolean }) {
  const answer = useApprovalsStore((s) => s.answer);
  const confirmAlways = useApprovalsStore((s) => s.confirmAlways);
  const seconds = Math.max(0, Math.round((Date.parse(request.expiresAt) - now) / 1000));
  return (
    <article className={compact ? 'approval toast' : 'approval card'} role="alertdialog" aria-label={`Allow ${request.host}:${request.port}?`} data-approval={request.host}>
      <p>
        <strong>{request.agent ?? 'An agent'}</strong> wants to reach <code>{request.host}:{request.port}</code>, which is not in its allowlist.
      </p>
      <p className="muted small">
        task <button type="button" className="link" onClick={() => navigate({ screen: 'task', task: request.task })}>{shortTask(request.task)}</button> · denied in {seconds}s without an answer
      </p>
      <div className="button-row">
        <button type="button" onClick={() => void answer(request.id, 'once')}>Allow once</button>
        <button type="button" className="secondary" onClick={() => void answer(request.id, 'task')}>Allow for this task</button>
        {request.manifestFile && <button type="button" className="secondary" onClick={() => confirmAlways(request)}>Allow always…</button>}
        <button type="button" className="danger" onClick={() => void answer(request.id, 'deny')}>Deny</button>
      </div>
    </article>
  );
}

/** "Allow always" asks first: it changes the manifest, so later runs reach the host without asking. */
export function ConfirmAlways() {
  const request = useApprovalsStore((s) => s.confirming);
  const confirmAlways = useApprovalsStore((s) => s.confirmAlways);
  const answer = useApprovalsStore((s) => s.answer);
  const [error, setError] = useState<IpcError | null>(null);
  const [busy, setBusy] = useState(false);
  const cancelButton = useRef<HTMLButtonElement>(null);
  const id = request?.id;
  useEffect(() => {
    setError(null);
    setBusy(false);
    if (!id) return undefined;
    cancelButton.current?.focus();
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && confirmAlways(null);
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [id, confirmAlways]);
  if (!request) return null;
  const host = request.port === 80 || request.port === 443 ? request.host : `${request.host}:${request.port}`;
  const confirm = async () => {
    setBusy(true);
    const failed = await answer(request.id, 'always');
    setBusy(false);
    setError(failed);
    if (!failed) void useAgentsStore.getState().load(); // its manifest now allows the host
  };
  return (
    <div className="overlay overlay-top" role="presentation" onMouseDown={(e) => e.target === e.currentTarget && confirmAlways(null)}>
      <section className="dialog dialog-small" role="dialog" aria-modal="true" aria-labelledby="always-title" data-confirm-always>
        <h2 id="always-title">Always allow {host}?</h2>
        <p>
          <code>{host}</code> will be added to <code>network.allow</code> in <code className="break">{request.manifestFile}</code>, so {request.agent ?? 'this agent'} reaches it without asking from now on. If the manifest was approved as it was, it stays approved, on the record in the audit trail; otherwise it needs approving before its next run. Then this request is allowed.
        </p>
        {error && <ErrorPanel error={error} />}
        <footer className="dialog-foot">
          <button type="button" className="secondary" ref={cancelButton} onClick={() => confirmAlways(null)}>Cancel</button>
          <button type="button" disabled={busy} onClick={() => void confirm()} data-confirm>{busy ? 'Adding…' : 'Add to manifest and allow'}</button>
        </footer>
      </section>
    </div>
  );
}

/** Pending "ask" requests, over whichever screen is open: the app's notification. */
export function ApprovalToasts() {
  const pending = useApprovalsStore((s) => s.pending);
  const now = useNow(1000, pending.length > 0);
  if (pending.length === 0) return null;
  return (
    <div className="toasts" aria-live="assertive">
      {pending.slice(0, 3).map((request) => <ApprovalCard key={request.id} request={request} now={now} compact />)}
      {pending.length > 3 && <button type="button" className="secondary" onClick={() => navigate({ screen: 'approvals' })}>{pending.length - 3} more waiting…</button>}
    </div>
  );
}

export function ApprovalsScreen() {
  const pending = useApprovalsStore((s) => s.pending);
  const error = useApprovalsStore((s) => s.error);
  const now = useNow(1000, pending.length > 0);
  return (
    <div>
      <header className="screen-head"><h1>Pending approvals</h1></header>
      {error && <ErrorPanel error={error} />}
      {pending.length === 0 ? (
        <EmptyState title="Nothing is waiting for you">
          An agent whose manifest says <code>onUnknownHost: ask</code> waits here (and in a notification) when it asks for a host outside its allowlist. Unanswered requests are denied when their time runs out.
        </EmptyState>
      ) : (
        <div className="cards">{pending.map((request) => <ApprovalCard key={request.id} request={request} now={now} compact={false} />)}</div>
      )}
    </div>
  );
}
