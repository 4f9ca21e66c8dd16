import { useState } from 'react';
import type { AgentSummary } from '../../../preload/contract';
import { ApprovalReview } from '../components/ApprovalReview';
import { Badge, EmptyState, ErrorPanel, MOD_KEY } from '../components/common';
import { useAgentsStore } from '../store/agents';

export function AgentsScreen() {
  const agents = useAgentsStore((s) => s.agents);
  const loaded = useAgentsStore((s) => s.loaded);
  const error = useAgentsStore((s) => s.error);
  const open = useAgentsStore((s) => s.open);
  return (
    <div>
      <header className="screen-head">
        <h1>Agents</h1>
        <button type="button" className="secondary" onClick={() => void open()} data-open-manifest>Open manifest…</button>
      </header>
      {error && <ErrorPanel error={error} />}
      {loaded && agents.length === 0 && (
        <EmptyState title="No agents yet" action={<button type="button" onClick={() => void open()}>Open a manifest…</button>}>
          Open an agent manifest (<code>.yaml</code>); it stays in this list. The README shows the manifest format.
        </EmptyState>
      )}
      <div className="cards">
        {agents.map((agent) => <AgentCard key={agent.id} agent={agent} />)}
      </div>
    </div>
  );
}

function AgentCard({ agent }: { agent: AgentSummary }) {
  const openRunDialog = useAgentsStore((s) => s.openRunDialog);
  const forget = useAgentsStore((s) => s.forget);
  const approve = useAgentsStore((s) => s.approve);
  const approved = agent.approval === 'approved' || agent.approval === 'built-in';
  // Replacing another file's approval of this name takes a second, explicit step that says what goes.
  const [confirmingReplace, setConfirmingReplace] = useState(false);
  const replaces = !approved ? agent.replaces : undefined;
  return (
    <article className={agent.error ? 'card panel-warn' : 'card'} data-agent={agent.name}>
      <header className="card-head">
        <h2>{agent.name}</h2>
        <Badge tone="muted">{agent.source}</Badge>
      </header>
      {agent.description && <p>{agent.description}</p>}
      {agent.error ? (
        <>
          <p className="bad-text">{agent.error.message}</p>
          {agent.error.hint && <p className="hint small">How to fix: {agent.error.hint}</p>}
        </>
      ) : (
        <>
          {agent.review && <ApprovalReview review={agent.review} />}
          <dl className="small">
            <dt>Approval</dt>
            <dd>
              {agent.approval === 'built-in' && <Badge tone="ok">built-in</Badge>}
              {agent.approval === 'approved' && <Badge tone="ok">approved</Badge>}
              {agent.approval === 'changed' && <Badge tone="warn">changed since approved</Badge>}
              {agent.approval === 'unapproved' && <Badge tone="warn">not approved</Badge>}
            </dd>
            <dt>Manifest</dt>
            <dd className="mono small" title={agent.digest}>{agent.file}</dd>
          </dl>
        </>
      )}
      {!agent.error && replaces && (
        <div className="panel-warn small" data-replaces>
          <p><strong>{agent.name}</strong> is already approved from another file: <span className="mono">{replaces.file}</span> (<span className="mono">{replaces.digest.slice(7, 19)}</span>).</p>
          <p>Approving this manifest (<span className="mono">{agent.file}</span>, <span className="mono">{agent.digest?.slice(7, 19)}</span>) replaces that approval: tasks and delegation chains that name {agent.name} get this file instead.</p>
          {confirmingReplace && (
            <p>
              <button type="button" className="danger" onClick={() => { setConfirmingReplace(false); void approve(agent.id, replaces.digest); }} data-confirm-replace>Replace the approval</button>{' '}
              <button type="button" className="link" onClick={() => setConfirmingReplace(false)}>Cancel</button>
            </p>
          )}
        </div>
      )}
      <footer className="card-foot">
        {!agent.error && !approved && replaces && !confirmingReplace && (
          <button type="button" className="secondary" onClick={() => setConfirmingReplace(true)} title="Approving this replaces another file's approval of the same name: you are asked to confirm" data-approve>Approve…</button>
        )}
        {!agent.error && !approved && !replaces && (
          <button type="button" className="secondary" onClick={() => void approve(agent.id)} title="Approve this manifest as it is now: a later change asks again" data-approve>Approve</button>
        )}
        <button type="button" disabled={agent.error !== undefined || !approved} onClick={() => openRunDialog(agent)} title={approved ? `Run (${MOD_KEY}+R)` : 'Approve the agent first'} data-run>Run…</button>
        {agent.source === 'opened' && <button type="button" className="link" onClick={() => void forget(agent.id)}>Remove from list</button>}
      </footer>
    </article>
  );
}
