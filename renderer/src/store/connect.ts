import { api } from '../lib/api';
import { parseRoute } from '../lib/route';
import { useAgentsStore } from './agents';
import { useAppStore } from './app';
import { useApprovalsStore } from './approvals';
import { useChainsStore } from './chains';
import { useTasksStore } from './tasks';

/** Wires the main process's pushes and the URL hash to the stores; returns the undo. */
export function connectStores(): () => void {
  const unsubscribe = [
    api.subscribe.events((batch) => {
      useTasksStore.getState().ingest(batch.events);
      useChainsStore.getState().ingest(batch.events);
    }),
    api.subscribe.tasks((tasks) => useTasksStore.getState().setTasks(tasks)),
    api.subscribe.approvals((pending) => useApprovalsStore.getState().setPending(pending)),
    api.subscribe.images((state) => useAppStore.getState().setImageState(state)),
  ];
  const onHash = () => useAppStore.getState().setRoute(parseRoute(window.location.hash));
  window.addEventListener('hashchange', onHash);

  // This window answers asks while it is open (said first: an ask no open window or terminal answers is denied at once).
  void api.approvals.attend({}).catch(() => undefined);
  const app = useAppStore.getState();
  void app.loadVersion();
  void app.refreshDoctor();
  void api.images.state().then((state) => useAppStore.getState().setImageState(state), () => undefined);
  void useAgentsStore.getState().load();
  void useTasksStore.getState().refresh();
  void useTasksStore.getState().loadHistory();
  void useApprovalsStore.getState().refresh();

  return () => {
    for (const undo of unsubscribe) undo();
    window.removeEventListener('hashchange', onHash);
  };
}
