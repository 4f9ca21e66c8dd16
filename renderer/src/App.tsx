import { useEffect } from 'react';
import { MOD_KEY, StatusDot } from './components/common';
import type { Route } from './lib/route';
import { useAgentsStore } from './store/agents';
import { useAppStore } from './store/app';
import { useApprovalsStore } from './store/approvals';
import { connectStores } from './store/connect';
import { useTasksStore } from './store/tasks';
import { AgentsScreen } from './screens/AgentsScreen';
import { ApprovalsScreen, ApprovalToasts, ConfirmAlways } from './screens/Approvals';
import { AuditScreen } from './screens/AuditScreen';
import { CredentialsScreen } from './screens/CredentialsScreen';
import { RunDialog } from './screens/RunDialog';
import { StatusScreen } from './screens/StatusScreen';
import { TaskDetail } from './screens/TaskDetail';
import { TasksScreen } from './screens/TasksScreen';
import { useShortcuts } from './shortcuts';

const NAV: { screen: Exclude<Route['screen'], 'task'>; label: string }[] = [
  { screen: 'status', label: 'Status' },
  { screen: 'agents', label: 'Agents' },
  { screen: 'tasks', label: 'Tasks' },
  { screen: 'approvals', label: 'Approvals' },
  { screen: 'credentials', label: 'Credentials' },
  { screen: 'audit', label: 'Audit trail' },
];

export function App() {
  const route = useAppStore((s) => s.route);
  const version = useAppStore((s) => s.version);
  const doctor = useAppStore((s) => s.doctor);
  const runFor = useAgentsStore((s) => s.runFor);
  const pending = useApprovalsStore((s) => s.pending.length);
  const running = useTasksStore((s) => s.tasks.filter((t) => !t.endedAt).length);
  useEffect(() => connectStores(), []);
  useShortcuts();
  const ready = doctor.status === 'ready' ? doctor.report.ok : undefined;

  return (
    <div className="shell">
      <nav className="sidebar" aria-label="Screens">
        <div className="brand">
          Airlock {version && <span className="version">v{version}</span>}
        </div>
        {NAV.map((item) => {
          const active = route.screen === item.screen || (item.screen === 'tasks' && route.screen === 'task');
          return (
            <a key={item.screen} href={`#/${item.screen}`} className={active ? 'nav active' : 'nav'} aria-current={active ? 'page' : undefined}>
              {item.label}
              {item.screen === 'status' && ready !== undefined && <StatusDot ok={ready} />}
              {item.screen === 'tasks' && running > 0 && <span className="count">{running}</span>}
              {item.screen === 'approvals' && pending > 0 && <span className="count count-ask">{pending}</span>}
            </a>
          );
        })}
        <div className="shortcuts muted small">
          <div>{MOD_KEY}+R run</div>
          <div>{MOD_KEY}+. stop</div>
          <div>{MOD_KEY}+F search</div>
        </div>
      </nav>
      <main className="content">
        {route.screen === 'status' && <StatusScreen />}
        {route.screen === 'agents' && <AgentsScreen />}
        {route.screen === 'tasks' && <TasksScreen />}
        {route.screen === 'task' && <TaskDetail key={route.task} task={route.task} />}
        {route.screen === 'approvals' && <ApprovalsScreen />}
        {route.screen === 'credentials' && <CredentialsScreen />}
        {route.screen === 'audit' && <AuditScreen />}
      </main>
      {runFor && <RunDialog agent={runFor} />}
      <ApprovalToasts />
      <ConfirmAlways />
    </div>
  );
}

