import os from 'node:os';
import path from 'node:path';

/** Where Airlock keeps its state: AIRLOCK_HOME, else the OS app-data directory. */
export function airlockHome(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.AIRLOCK_HOME) return path.resolve(env.AIRLOCK_HOME);
  const home = os.homedir();
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'airlock');
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'airlock');
  return path.join(env.XDG_CONFIG_HOME ?? path.join(home, '.config'), 'airlock');
}

/** The layout inside AIRLOCK_HOME, in one place so the CLI, the app and the docs agree. */
export function homeLayout(root: string) {
  return {
    root,
    tasks: path.join(root, 'tasks'),
    task: (id: string) => path.join(root, 'tasks', id),
    artifacts: (id: string) => path.join(root, 'tasks', id, 'artifacts'),
    audit: path.join(root, 'audit'),
  };
}
export type HomeLayout = ReturnType<typeof homeLayout>;
