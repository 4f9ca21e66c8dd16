import { useEffect, useState } from 'react';
import type { IpcError } from '../../../preload/contract';
import { BarChart, LineChart } from '../components/Charts';
import { Badge, EmptyState, ErrorPanel, MOD_KEY } from '../components/common';
import { Grants } from '../components/Grants';
import { SpendMeter } from '../components/SpendMeter';
import { useNow } from '../components/useNow';
import { BUCKET_MS, type EventLog } from '../lib/event-log';
import { clockTime, elapsed, formatSize } from '../lib/format';
import { navigate } from '../lib/route';
import { logOf, useTasksStore } from '../store/tasks';
import { useChainsStore } from '../store/chains';
import { ActionLog } from './ActionLog';
import { ArtifactsTab } from './ArtifactsTab';
import { ChainTab } from './ChainTab';
import { ChangesTab } from './ChangesTab';
import { LiveScreen } from './LiveScreen';
import { Screenshots } from './Screenshots';
import { TerminalTab } from './TerminalTab';
import { ToolsTab } from './ToolsTab';
import { StateBadge } from './TasksScreen';

type Tab = 'terminal' | 'log' | 'chain' | 'tools' | 'network' | 'artifacts' | 'changes' | 'screenshots';

export function TaskDetail({ task }: { task: string }) {
  const info = useTasksStore((s) => s.tasks.find((t) => t.id === task));
  const past = useTasksStore((s) => s.history.find((t) => t.id === task));
  const version = useTasksStore((s) => s.logVersion);
  const backfill = useTasksStore((s) => s.backfill);
  const stop = useTasksStore((s) => s.stop);
  const resume = useTasksStore((s) => s.resume);
  const [resuming, setResuming] = useState(false);
  const [chosenTab, setTab] = useState<Tab | undefined>(undefined);
  const [stopError, setStopError] = useState<IpcError | null>(null);
  const [loadError, setLoadError] = useState<IpcError | null>(null);
  const running = info !== undefined && info.endedAt === undefined;
  const now = useNow(1000, running);
  const log = logOf(task);
  // The chain's size, live: every task's events reach this window (children's too).
  const chainSize = useChainsStore((s) => s.forest.chainSize(task));
  const chainLabel = chainSize > 1 ? `Chain (${chainSize})` : 'Chain';

  useEffect(() => {
    backfill(task).catch((error: unknown) => setLoadError({ code: 'internal', message: `could not read this task's earlier events: ${String(error)}` }));
  }, [task, backfill]);

  const agent = info?.agent ?? past?.agent ?? log.events[0]?.agent.name ?? 'unknown agent';
  const startedAt = info?.startedAt ?? past?.startedAt ?? log.events[0]?.time;
  const endedAt = info?.endedAt ?? past?.endedAt;
  const onStop = async () => setStopError(await stop(task));
  const frozen = running && info.state === 'frozen' && !info.stopping;
  const display = info?.display;
  // A display task that another Airlock process (the CLI) is running: in the trail, not yet ended.
  const elsewhere = info === undefined && past !== undefined && past.outcome === undefined && past.display !== undefined;
  const loadHistory = useTasksStore((s) => s.loadHistory);
  useEffect(() => {
    // Its events are written by that process: the trail says when it has ended.
    if (!elsewhere) return undefined;
    const timer = setInterval(() => void loadHistory(), 3000);
    return () => clearInterval(timer);
  }, [elsewhere, loadHistory]);
  const terminal = running ? info.terminal : undefined;
  // An interactive session opens on its terminal; once it is over, on its log.
  const tab: Tab = chosenTab === undefined || (chosenTab === 'terminal' && !terminal) ? (terminal ? 'terminal' : 'log') : chosenTab;
  // A task that took a project has a change to review (collected at its end).
  const tookProject = log.events.some((e) => e.kind === 'task.project' || e.kind === 'task.changes');
  const tabs: Tab[] = [
    ...(terminal ? ['terminal' as const] : []), 'log', 'chain', ...(log.toolCalls.length > 0 ? ['tools' as const] : []), 'network', 'artifacts',
    ...(tookProject ? ['changes' as const] : []), ...(display || log.counts.screenshots > 0 ? ['screenshots' as const] : []),
  ];
  const onResume = async () => {
    setResuming(true);
    const error = await resume(task);
    setStopError(error);
    if (error) setResuming(false);
  };
  // The runner answers a resume within a moment (task.resumed): the button waits for it.
  useEffect(() => {
    if (!frozen) setResuming(false);
  }, [frozen]);

  return (
    <div className={display || elsewhere ? 'task-detail with-screen' : 'task-detail'}>
      <header className="screen-head">
        <div>
          <button type="button" className="link" onClick={() => navigate({ screen: 'tasks' })}>← Tasks</button>
          <h1>{agent} <code className="muted task-id">{task}</code></h1>
          <div className="task-meta">
            {info ? <StateBadge task={info} /> : past?.outcome ? <Badge tone={past.outcome === 'exited' && past.exitCode === 0 ? 'ok' : 'warn'}>{past.outcome}</Badge> : null}
            {startedAt && <span className="muted">started {clockTime(startedAt)} · {elapsed(startedAt, endedAt, now)}</span>}
            {info && <span className="muted">network {info.network}</span>}
            {info && info.grants.length > 0 && <Grants grants={info.grants} now={now} />}
            <SpendMeter events={log.events} />
            <span className="muted">{log.counts.requests} requests ({log.counts.denied} refused) · {log.counts.outputLines.toLocaleString()} output lines</span>
          </div>
        </div>
        {running && (
          <button type="button" className="danger" onClick={() => void onStop()} disabled={info.stopping} title={`Stop this task (${MOD_KEY}+.)`} data-stop>
            {info.stopping ? 'Stopping…' : 'Stop'}
          </button>
        )}
      </header>
      {frozen && (
        <section className="panel panel-frozen" role="status" data-frozen>
          <h2>Frozen: {info.frozen?.reason ?? 'a policy violation'}</h2>
          <p className="muted">
            Its containers are paused and its credentials revoked{info.frozen ? ` since ${clockTime(info.frozen.at)}` : ''}. Resume lets it carry on without its credentials; Stop ends it and tears the sandbox down.
          </p>
          <div className="button-row">
            <button type="button" onClick={() => void onResume()} disabled={resuming} data-resume>{resuming ? 'Resuming…' : 'Resume'}</button>
            <button type="button" className="danger" onClick={() => void onStop()} data-stop-frozen>Stop</button>
          </div>
        </section>
      )}
      {info?.error && <ErrorPanel error={info.error} title="The task could not run" />}
      {stopError && <ErrorPanel error={stopError} title="Could not do that" />}
      {loadError && <ErrorPanel error={loadError} />}
      {running && display && info.state !== 'starting' && <LiveScreen info={{ id: info.id, agent: info.agent, display, control: info.control }} />}
      {elsewhere && <LiveScreen info={{ id: task, agent, display: past.display! }} elsewhere />}
      <Charts log={log} version={version} running={running} />
      <nav className="tabs" role="tablist">
        {tabs.map((name) => (
          <button key={name} type="button" role="tab" aria-selected={tab === name} className={tab === name ? 'tab active' : 'tab'} onClick={() => setTab(name)}>
            {name === 'chain' ? chainLabel : TAB_LABELS[name](log)}
          </button>
        ))}
      </nav>
      {tab === 'terminal' && terminal && <TerminalTab info={{ id: task, agent, terminal }} />}
      {tab === 'log' && <ActionLog log={log} version={version} />}
      {tab === 'chain' && <ChainTab task={task} />}
      {tab === 'tools' && <ToolsTab log={log} />}
      {tab === 'network' && <NetworkTable log={log} />}
      {tab === 'artifacts' && <ArtifactsTab task={task} log={log} info={info} />}
      {tab === 'changes' && <ChangesTab task={task} running={running} />}
      {tab === 'screenshots' && <Screenshots task={task} count={log.counts.screenshots} />}
    </div>
  );
}

const TAB_LABELS: Record<Tab, (log: EventLog) => string> = {
  terminal: () => 'Terminal',
  log: () => 'Action log',
  chain: () => 'Chain',
  tools: (log) => {
    const refused = log.toolCalls.filter((e) => e.decision?.allow === false).length;
    return `Tools (${log.toolCalls.length}${refused > 0 ? `, ${refused} refused` : ''})`;
  },
  network: (log) => `Network (${log.counts.requests})`,
  artifacts: (log) => `Artifacts (${log.artifacts.length})`,
  changes: () => 'Changes',
  screenshots: (log) => `Screenshots (${log.counts.screenshots})`,
};

function Charts({ log, running }: { log: EventLog; version: number; running: boolean }) {
  const limit = log.samples.at(-1)?.limit;
  const empty = running ? 'Sampled every 2 s while the task runs.' : 'No samples: the task ran for less than 2 s, or before this window opened.';
  return (
    <div className="charts">
      <LineChart title="CPU" tone="info" points={log.samples.map((s) => ({ t: s.t, v: s.cpu }))} format={(v) => `${v.toFixed(1)}%`} empty={empty} ceiling={100} />
      <LineChart title={`Memory${limit ? ` (limit ${formatSize(limit)})` : ''}`} tone="ok" points={log.samples.map((s) => ({ t: s.t, v: s.memory }))} format={(v) => formatSize(v)} empty={empty} />
      <BarChart title="Network requests" buckets={log.buckets} bucketMs={BUCKET_MS} empty="No network requests." />
    </div>
  );
}

function NetworkTable({ log }: { log: EventLog }) {
  const rows = log.requests.slice(-500).reverse();
  if (rows.length === 0) return <EmptyState title="No network requests">With network <code>none</code> the agent has loopback only; with an allowlist or <code>open</code>, every request shows here.</EmptyState>;
  return (
    <div className="table-wrap">
      <table className="table">
        <thead><tr><th>Time</th><th>Request</th><th>Status</th><th>Decision</th><th>Bytes ↑/↓</th></tr></thead>
        <tbody>
          {rows.map((e) => (
            <tr key={e.seq} className={e.decision?.allow === false ? 'row-bad' : ''}>
              <td className="mono">{clockTime(e.time)}</td>
              <td className="mono">{String(e.data.method)} {String(e.data.host)}:{String(e.data.port)}{e.data.path !== undefined ? String(e.data.path) : ''}</td>
              <td>{String(e.data.status)}</td>
              <td>{e.decision ? <Badge tone={e.decision.allow ? 'ok' : 'bad'}>{e.decision.allow ? 'allowed' : 'refused'} · {e.decision.rule}</Badge> : null}</td>
              <td className="mono">{formatSize(Number(e.data.bytesUp))} / {formatSize(Number(e.data.bytesDown))}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
