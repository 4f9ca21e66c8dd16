import { useEffect } from 'react';
import type { PastTask, TaskInfo } from '../../../preload/contract';
import { Badge, EmptyState, ErrorPanel, MOD_KEY, type BadgeTone } from '../components/common';
import { Grants } from '../components/Grants';
import { useNow } from '../components/useNow';
import { dateTime, elapsed } from '../lib/format';
import { navigate } from '../lib/route';
import { useTasksStore } from '../store/tasks';

export function StateBadge({ task }: { task: TaskInfo }) {
  const tone: BadgeTone = task.stopping ? 'warn'
    : task.state === 'frozen' ? 'bad'
    : task.state === 'running' || task.state === 'starting' ? 'info'
      : task.state === 'exited' ? (task.exitCode === 0 ? 'ok' : 'bad')
        : task.state === 'cancelled' ? 'warn' : 'bad';
  const label = task.stopping ? 'stopping' : task.state === 'exited' ? `exited ${task.exitCode ?? ''}`.trim() : task.state === 'cancelled' ? 'stopped' : task.state === 'stopped' ? 'stopped by policy' : task.state;
  if (task.state === 'frozen' && !task.stopping) return <Badge tone={tone} title={task.frozen?.reason}>{`Frozen${task.frozen ? `: ${task.frozen.reason}` : ''}`}</Badge>;
  return <Badge tone={tone}>{label}</Badge>;
}

export function TasksScreen() {
  const tasks = useTasksStore((s) => s.tasks);
  const history = useTasksStore((s) => s.history);
  const historyError = useTasksStore((s) => s.historyError);
  const stop = useTasksStore((s) => s.stop);
  const resume = useTasksStore((s) => s.resume);
  const loadHistory = useTasksStore((s) => s.loadHistory);
  // Tasks the CLI started since the app opened are only in the trail: read it again on every visit.
  useEffect(() => {
    void loadHistory();
  }, [loadHistory]);
  const anyRunning = tasks.some((t) => !t.endedAt);
  const now = useNow(1000, anyRunning);
  const liveIds = new Set(tasks.map((t) => t.id));
  const past = history.filter((t) => !liveIds.has(t.id));

  return (
    <div>
      <header className="screen-head"><h1>Tasks</h1></header>
      {tasks.length === 0 ? (
        <EmptyState title="No tasks in this session" action={<button type="button" onClick={() => navigate({ screen: 'agents' })}>Choose an agent to run</button>}>
          Pick an agent and press Run ({MOD_KEY}+R). Each task gets a fresh sandbox that is destroyed when it ends.
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table tasks-table">
            <thead><tr><th>Agent</th><th>Task</th><th>State</th><th>Elapsed</th><th>Network</th><th>Credentials</th><th /></tr></thead>
            <tbody>
              {tasks.map((task) => (
                <tr key={task.id} className="clickable" onClick={() => navigate({ screen: 'task', task: task.id })}>
                  <td><strong>{task.agent}</strong></td>
                  <td className="mono small">{task.id}</td>
                  <td><StateBadge task={task} /></td>
                  <td>{elapsed(task.startedAt, task.endedAt, now)}</td>
                  <td>{task.network}</td>
                  <td><Grants grants={task.grants} now={now} /></td>
                  <td className="actions">
                    {task.state === 'frozen' && !task.endedAt && !task.stopping && (
                      <button type="button" className="small-button" data-resume onClick={(e) => { e.stopPropagation(); void resume(task.id); }}>Resume</button>
                    )}
                    {!task.endedAt && (
                      <button type="button" className="danger small-button" disabled={task.stopping} onClick={(e) => { e.stopPropagation(); void stop(task.id); }}>
                        {task.stopping ? 'Stopping…' : 'Stop'}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2 className="section-title">Earlier tasks</h2>
      {historyError && <ErrorPanel error={historyError} />}
      {past.length === 0 && !historyError ? <p className="muted">Tasks from earlier sessions and from the CLI appear here, from the audit trail.</p> : <PastTable tasks={past} />}
    </div>
  );
}

function PastTable({ tasks }: { tasks: PastTask[] }) {
  return (
    <div className="table-wrap">
      <table className="table">
        <thead><tr><th>Agent</th><th>Task</th><th>Started</th><th>Outcome</th><th>Took</th></tr></thead>
        <tbody>
          {tasks.map((task) => (
            <tr key={task.id} className="clickable" onClick={() => navigate({ screen: 'task', task: task.id })}>
              <td>{task.agent}</td>
              <td className="mono small">{task.id}</td>
              <td>{dateTime(task.startedAt)}</td>
              <td>{task.outcome ? <Badge tone={task.outcome === 'exited' ? (task.exitCode === 0 ? 'ok' : 'bad') : task.outcome === 'cancelled' ? 'warn' : 'bad'}>{task.outcome === 'exited' ? `exited ${task.exitCode ?? ''}` : task.outcome === 'cancelled' ? 'stopped' : task.outcome === 'stopped' ? 'stopped by policy' : task.outcome}</Badge> : <Badge tone="muted">unknown</Badge>}</td>
              <td>{elapsed(task.startedAt, task.endedAt, Date.now())}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
