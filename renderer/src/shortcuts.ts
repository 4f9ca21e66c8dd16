import { useEffect } from 'react';
import { useAgentsStore } from './store/agents';
import { useAppStore } from './store/app';
import { useTasksStore } from './store/tasks';
import { navigate } from './lib/route';

/**
 * Ctrl/Cmd+R: run (the task's agent on a task screen, else the first agent that loads);
 * Ctrl/Cmd+.: stop the task on screen (else the newest running one); Ctrl/Cmd+F: focus the
 * screen's search box. The main process has no reload accelerator, so Ctrl/Cmd+R is ours.
 */
export function useShortcuts(): void {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
      const key = event.key.toLowerCase();
      if (key === 'r') {
        event.preventDefault();
        runShortcut();
      } else if (key === '.') {
        event.preventDefault();
        stopShortcut();
      } else if (key === 'f') {
        const search = document.querySelector<HTMLInputElement>('input[data-search]');
        if (search) {
          event.preventDefault();
          search.focus();
          search.select();
        }
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}

function runShortcut(): void {
  const agents = useAgentsStore.getState();
  const route = useAppStore.getState().route;
  const task = route.screen === 'task' ? useTasksStore.getState().tasks.find((t) => t.id === route.task) : undefined;
  const agent = (task && agents.agents.find((a) => a.id === task.agentId)) ?? agents.agents.find((a) => !a.error && (a.approval === 'approved' || a.approval === 'built-in'));
  if (agent) agents.openRunDialog(agent);
  else navigate({ screen: 'agents' });
}

function stopShortcut(): void {
  const route = useAppStore.getState().route;
  const tasks = useTasksStore.getState();
  const running = tasks.tasks.filter((t) => !t.endedAt);
  const target = route.screen === 'task' ? running.find((t) => t.id === route.task) : running[0];
  if (target) void tasks.stop(target.id);
}
