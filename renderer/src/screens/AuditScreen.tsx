import { useEffect, useState, type FormEvent } from 'react';
import type { AuditExportResult, AuditQueryRequest, AuditVerifyResult, IpcError, WireRecord } from '../../../preload/contract';
import { Badge, EmptyState, ErrorPanel, MOD_KEY } from '../components/common';
import { describeError, api } from '../lib/api';
import { dateTime } from '../lib/format';
import { navigate } from '../lib/route';
import { KIND_FAMILIES, summarize } from '../lib/summary';
import { ForwardingPanel } from './ForwardingPanel';

const PAGE = 200;

export function AuditScreen() {
  const [text, setText] = useState('');
  const [family, setFamily] = useState('');
  const [decision, setDecision] = useState<'' | 'allow' | 'deny'>('');
  const [task, setTask] = useState('');
  const [records, setRecords] = useState<WireRecord[] | null>(null);
  const [next, setNext] = useState<string | undefined>(undefined);
  const [error, setError] = useState<IpcError | null>(null);
  const [busy, setBusy] = useState(false);

  const query = (cursor?: string): AuditQueryRequest => ({
    order: 'desc', limit: PAGE,
    ...(text.trim() ? { text: text.trim() } : {}),
    ...(family ? { kinds: [`${family}.*`] } : {}),
    ...(decision ? { decision } : {}),
    ...(task.trim() ? { task: task.trim() } : {}),
    ...(cursor ? { cursor } : {}),
  });

  const search = async (e?: FormEvent, cursor?: string) => {
    e?.preventDefault();
    setBusy(true);
    try {
      const page = await api.audit.query(query(cursor));
      setRecords(cursor ? [...(records ?? []), ...page.records] : page.records);
      setNext(page.next);
      setError(null);
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    void search();
  }, []);

  return (
    <div>
      <header className="screen-head">
        <h1>Audit trail</h1>
        <TrailActions task={task.trim()} />
      </header>
      <form className="audit-search" onSubmit={(e) => void search(e)} role="search">
        <input type="search" data-search placeholder={`Search every recorded event (${MOD_KEY}+F)`} aria-label="Search text" value={text} onChange={(e) => setText(e.target.value)} />
        <select aria-label="Kind" value={family} onChange={(e) => setFamily(e.target.value)}>
          <option value="">all kinds</option>
          {KIND_FAMILIES.map((f) => <option key={f} value={f}>{f}.*</option>)}
        </select>
        <select aria-label="Decision" value={decision} onChange={(e) => setDecision(e.target.value as '' | 'allow' | 'deny')}>
          <option value="">any decision</option>
          <option value="allow">allowed</option>
          <option value="deny">refused</option>
        </select>
        <input aria-label="Task id" placeholder="task id (t_…)" value={task} onChange={(e) => setTask(e.target.value)} />
        <button type="submit" disabled={busy}>{busy ? 'Searching…' : 'Search'}</button>
      </form>
      <ForwardingPanel />
      {error && <ErrorPanel error={error} />}
      {records && records.length === 0 && <EmptyState title="No records match">The audit trail keeps every event of every task. Widen the search, or run an agent first.</EmptyState>}
      {records && records.length > 0 && (
        <div className="table-wrap">
          <table className="table audit-table">
            <thead><tr><th>#</th><th>Time</th><th>Task</th><th>Kind</th><th>What</th><th>Decision</th></tr></thead>
            <tbody>
              {records.map((r) => (
                <tr key={r.n}>
                  <td className="mono small">{r.n}</td>
                  <td className="small">{dateTime(r.time)}</td>
                  <td><button type="button" className="link mono small" onClick={() => navigate({ screen: 'task', task: r.task })}>{r.task.slice(-8)}</button> <span className="small muted">{r.agent.name}</span></td>
                  <td className="mono small">{r.kind}</td>
                  <td className="audit-what">{summarize(r).text}</td>
                  <td>{r.decision && <Badge tone={r.decision.allow ? 'ok' : 'bad'}>{r.decision.allow ? 'allow' : 'deny'} · {r.decision.rule}</Badge>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {next && <button type="button" className="secondary" disabled={busy} onClick={() => void search(undefined, next)}>Load older records</button>}
        </div>
      )}
    </div>
  );
}

function TrailActions({ task }: { task: string }) {
  const [verify, setVerify] = useState<AuditVerifyResult | null>(null);
  const [exported, setExported] = useState<AuditExportResult | null>(null);
  const [error, setError] = useState<IpcError | null>(null);
  const [busy, setBusy] = useState<'' | 'verify' | 'export'>('');
  const run = async (what: 'verify' | 'export', format?: 'jsonl' | 'csv') => {
    setBusy(what);
    setError(null);
    try {
      if (what === 'verify') setVerify(await api.audit.verify());
      else {
        const result = await api.audit.export({ format: format!, ...(/^t_[0-9a-z]{26}$/.test(task) ? { task } : {}) });
        if (result) setExported(result);
      }
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setBusy('');
    }
  };
  return (
    <div className="trail-actions">
      <div className="button-row">
        <button type="button" onClick={() => void run('verify')} disabled={busy !== ''} data-verify>{busy === 'verify' ? 'Verifying…' : 'Verify'}</button>
        <button type="button" className="secondary" onClick={() => void run('export', 'jsonl')} disabled={busy !== ''}>Export JSONL…</button>
        <button type="button" className="secondary" onClick={() => void run('export', 'csv')} disabled={busy !== ''}>Export CSV…</button>
      </div>
      {verify && (
        <p className={verify.ok ? 'verify ok-text' : 'verify bad-text'} role="status" data-verify-result>
          {verify.ok
            ? `Intact: ${verify.records.toLocaleString()} records, head ${verify.headSigned ? 'signed' : 'not signed (empty trail)'}`
            : `NOT INTACT at record ${verify.problem?.record ?? '?'}${verify.problem?.segment ? ` (${verify.problem.segment}, line ${verify.problem.line ?? '?'})` : ''}: ${verify.problem?.message ?? ''}`}
          {verify.notes.map((note) => <span key={note} className="muted small"> · {note}</span>)}
        </p>
      )}
      {exported && <p className="small" role="status" data-export-result>Exported {exported.records.toLocaleString()} records to <code>{exported.file}</code></p>}
      {error && <ErrorPanel error={error} />}
    </div>
  );
}
