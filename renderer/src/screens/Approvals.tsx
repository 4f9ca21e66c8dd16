import { useEffect, useRef, useState } from 'react';
import { exactHostRule } from '../../../main/core/host-pattern';
import { hostForDecision } from '../../../main/core/text/host-display';
import type { ApprovalInfo, IpcError } from '../../../preload/contract';
import { EmptyState, ErrorPanel } from '../components/common';
import { useNow } from '../components/useNow';
import { armsIn, ASK_ARM_DELAY_MS, place, type Placement } from '../lib/ask-placement';
import { formatDuration } from '../../../main/core/policy/units';
import { shortTask } from '../lib/format';
import { visible } from '../lib/visible-text';
import { navigate } from '../lib/route';
import { useAgentsStore } from '../store/agents';
import { useApprovalsStore } from '../store/approvals';

/**
 * The host as a person decides about it: its registrable domain first and prominent, then the
 * whole host and port, wrapped, never cut off (core/text/host-display.ts, as the CLI shows it).
 */
export function HostToDecide({ host, port }: { host: string; port?: number }) {
  const { domain, whole, problem } = hostForDecision(host, port);
  return (
    <p className="approval-host" data-host-line>
      {domain && domain !== whole && <><strong className="approval-domain" data-domain>{domain}</strong><span className="muted" aria-hidden> ← </span></>}
      <code className="approval-whole" data-whole>{whole}</code>
      {problem && <span className="warn-text"> ({problem})</span>}
    </p>
  );
}

/** A held MCP tool call as a person decides about it: the server and tool, then the arguments (the agent's text, escaped). */
function ToolToDecide({ call }: { call: NonNullable<ApprovalInfo['mcp']> }) {
  return (
    <>
      <p className="approval-host" data-tool-line>
        <strong className="approval-domain" data-tool>{visible(call.tool)}</strong><span className="muted"> on MCP server </span><code className="approval-whole" data-server>{visible(call.server)}</code>
      </p>
      <pre className="approval-arguments break" data-arguments>{visible(call.arguments)}</pre>
    </>
  );
}

/** A credential the agent asks to be lent, as a person decides about it: its name, the hosts it works for, for how long. */
function CredentialToDecide({ credential }: { credential: NonNullable<ApprovalInfo['credential']> }) {
  return (
    <p className="approval-host" data-credential-line>
      <strong className="approval-domain" data-credential>{visible(credential.name)}</strong><span className="muted"> for </span>
      <code className="approval-whole" data-hosts>{credential.hosts.map(visible).join(', ')}</code><span className="muted"> · </span><span data-ttl>{formatDuration(credential.ttlMs)}</span>
    </p>
  );
}

function ApprovalCard({ request, now, compact, armed }: { request: ApprovalInfo; now: number; compact: boolean; armed: boolean }) {
  const answer = useApprovalsStore((s) => s.answer);
  const confirmAlways = useApprovalsStore((s) => s.confirmAlways);
  const seconds = Math.max(0, Math.round((Date.parse(request.expiresAt) - now) / 1000));
  const tool = request.mcp;
  const credential = request.credential;
  const asking = request.reason === undefined ? 'wants to' : 'asks to';
  if (credential) return <CredentialCard request={request} credential={credential} seconds={seconds} compact={compact} armed={armed} />;
  return (
    <article className={compact ? 'approval toast' : 'approval card'} role="alertdialog"
      aria-label={tool ? `Allow the tool ${visible(tool.tool)} of ${visible(tool.server)}?` : `Allow ${request.host}:${request.port}?`}
      data-approval={tool ? `mcp:${tool.server}/${tool.tool}` : request.host} data-armed={armed}>
      {tool ? <ToolToDecide call={tool} /> : <HostToDecide host={request.host} port={request.port} />}
      {tool ? (
        <p data-tool-ask>
          <strong>{request.agent ?? 'An agent'}</strong> {asking} call {tool.changed ? <>this tool, <strong className="warn-text">whose description or input schema changed</strong> since it was first used (it may now ask for more than it did)</> : 'this tool, which needs your approval for each call'}.
        </p>
      ) : (
        <p>
          <strong>{request.agent ?? 'An agent'}</strong> {request.reason === undefined ? 'wants to reach' : 'asks for'} this host, which is not in its allowlist.
        </p>
      )}
      <AskFooter request={request} seconds={seconds} />
      <div className="button-row">
        <button type="button" disabled={!armed} onClick={() => void answer(request.id, 'once')}>{tool ? 'Allow this call' : 'Allow once'}</button>
        <button type="button" disabled={!armed} className="secondary" onClick={() => void answer(request.id, 'task')}>{tool ? 'Allow this tool for this task' : 'Allow for this task'}</button>
        {/* A tool's "always" re-pins its changed description (kept by Airlock, not in the manifest); an unchanged tool has nothing to pin. */}
        {tool?.changed && <button type="button" disabled={!armed} className="secondary" data-repin onClick={() => void answer(request.id, 'always')}>Allow always (pin the new description)</button>}
        {!tool && request.manifestFile && <button type="button" disabled={!armed} className="secondary" onClick={() => confirmAlways(request)}>Allow always…</button>}
        <button type="button" disabled={!armed} className="danger" onClick={() => void answer(request.id, 'deny')}>Deny</button>
      </div>
    </article>
  );
}

/** The agent's reason (its own text, escaped) and the task, under every ask. */
function AskFooter({ request, seconds }: { request: ApprovalInfo; seconds: number }) {
  return (
    <>
      {request.reason !== undefined && <p className="approval-reason" data-reason>The agent&apos;s reason: <q className="break">{visible(request.reason)}</q></p>}
      <p className="muted small">
        task <button type="button" className="link" onClick={() => navigate({ screen: 'task', task: request.task })}>{shortTask(request.task)}</button> · denied in {seconds}s without an answer
      </p>
    </>
  );
}

/** A credential request: lent once (one request) or for this task, or denied; never always (a credential every run needs goes in the manifest). */
function CredentialCard({ request, credential, seconds, compact, armed }: { request: ApprovalInfo; credential: NonNullable<ApprovalInfo['credential']>; seconds: number; compact: boolean; armed: boolean }) {
  const answer = useApprovalsStore((s) => s.answer);
  return (
    <article className={compact ? 'approval toast' : 'approval card'} role="alertdialog" aria-label={`Lend the credential ${visible(credential.name)}?`} data-approval={`credential:${credential.name}`} data-armed={armed}>
      <CredentialToDecide credential={credential} />
      <p data-credential-ask>
        <strong>{request.agent ?? 'An agent'}</strong> asks to be lent this credential. It gets a placeholder that works only for these hosts, until the time runs out or the task ends; never the secret.
      </p>
      <AskFooter request={request} seconds={seconds} />
      <div className="button-row">
        <button type="button" disabled={!armed} onClick={() => void answer(request.id, 'once')}>Lend for one request</button>
        <button type="button" disabled={!armed} className="secondary" onClick={() => void answer(request.id, 'task')}>Lend for this task</button>
        <button type="button" disabled={!armed} className="danger" onClick={() => void answer(request.id, 'deny')}>Deny</button>
      </div>
    </article>
  );
}

/**
 * Which shown asks take clicks: each only once it has stood still at its place for the arming
 * delay (ask-placement.ts). Re-renders when the next one arms.
 */
function useArmed(ids: readonly string[]): (id: string) => boolean {
  const placements = useRef<Map<string, Placement>>(new Map());
  const [tick, setTick] = useState(0);
  const key = ids.join(' ');
  placements.current = place(placements.current, ids, Date.now()); // the same on a repeated render
  useEffect(() => {
    const now = Date.now();
    const waits = [...placements.current.values()].map((p) => armsIn(p.since, now)).filter((ms) => ms > 0);
    if (waits.length === 0) return undefined;
    const timer = setTimeout(() => setTick((n) => n + 1), Math.min(...waits));
    return () => clearTimeout(timer);
  }, [key, tick]);
  return (id) => {
    const placed = placements.current.get(id);
    return placed !== undefined && armsIn(placed.since, Date.now(), ASK_ARM_DELAY_MS) === 0;
  };
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
  const host = exactHostRule(request) ?? request.host;
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
        <h2 id="always-title">Always allow this host?</h2>
        <HostToDecide host={request.host} {...(request.port === 80 || request.port === 443 ? {} : { port: request.port })} />
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
  const shown = pending.slice(0, 3);
  const armed = useArmed(shown.map((request) => request.id));
  if (pending.length === 0) return null;
  // Stacked from the bottom up in arrival order: a new ask goes above, never shifting the ones below.
  return (
    <div className="toasts" aria-live="assertive">
      {shown.map((request) => <ApprovalCard key={request.id} request={request} now={now} compact armed={armed(request.id)} />)}
      {pending.length > 3 && <button type="button" className="secondary" onClick={() => navigate({ screen: 'approvals' })}>{pending.length - 3} more waiting…</button>}
    </div>
  );
}

export function ApprovalsScreen() {
  const pending = useApprovalsStore((s) => s.pending);
  const error = useApprovalsStore((s) => s.error);
  const now = useNow(1000, pending.length > 0);
  const armed = useArmed(pending.map((request) => request.id));
  return (
    <div>
      <header className="screen-head"><h1>Pending approvals</h1></header>
      {error && <ErrorPanel error={error} />}
      {pending.length === 0 ? (
        <EmptyState title="Nothing is waiting for you">
          An agent whose manifest says <code>onUnknownHost: ask</code> waits here (and in a notification) when it asks for a host outside its allowlist, and so does a call of an MCP tool whose rule is <code>ask</code>. Unanswered requests are denied when their time runs out; while no window is open and no terminal answers, they are denied at once.
        </EmptyState>
      ) : (
        <div className="cards">{pending.map((request) => <ApprovalCard key={request.id} request={request} now={now} compact={false} armed={armed(request.id)} />)}</div>
      )}
    </div>
  );
}
