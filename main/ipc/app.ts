import type { Handle } from './register.js';

export interface AppHandlerDeps {
  /** The app's version, from package.json via Electron's app.getVersion(). */
  version: string;
}

export function registerAppHandlers(handle: Handle, deps: AppHandlerDeps): void {
  handle('app.version', () => deps.version);
}
