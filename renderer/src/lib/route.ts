/** Hash routes: `#/status`, `#/agents`, `#/tasks`, `#/tasks/<id>`, `#/approvals`, `#/credentials`, `#/audit`. */
export type Route =
  | { screen: 'status' | 'agents' | 'tasks' | 'approvals' | 'credentials' | 'audit' }
  | { screen: 'task'; task: string };

const SCREENS = ['status', 'agents', 'tasks', 'approvals', 'credentials', 'audit'] as const;

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  if (parts[0] === 'tasks' && parts[1] && /^t_[0-9a-z]{26}$/.test(parts[1])) return { screen: 'task', task: parts[1] };
  const screen = SCREENS.find((name) => name === parts[0]);
  return { screen: screen ?? 'status' };
}

export function routeHash(route: Route): string {
  return route.screen === 'task' ? `#/tasks/${route.task}` : `#/${route.screen}`;
}

export function navigate(route: Route): void {
  const hash = routeHash(route);
  if (window.location.hash !== hash) window.location.hash = hash;
}
