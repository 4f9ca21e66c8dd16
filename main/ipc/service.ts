/**
 * The handlers of every channel the app's window asks of the application service: the shared ones
 * (main/core/server/service-handlers.ts, the same the engine serves) plus the two that show an OS
 * dialog first. Sender and schema checks are done by the registrar (register.ts) before any of
 * these runs. Dialogs (which files to open or write) are chosen in the main process, never named
 * by the renderer.
 */
import type { AirlockService } from '../core/service/service.js';
import { serviceHandlers } from '../core/server/service-handlers.js';
import type { SharedChannel } from '../core/server/engine-contract.js';
import type { Handle, Handler } from './register.js';

/** The OS file dialogs, shown by the main process. undefined = the user cancelled. */
export interface Dialogs {
  chooseManifest(): Promise<string | undefined>;
  chooseExportFile(defaultName: string): Promise<string | undefined>;
}

export interface ServiceHandlerDeps {
  service: AirlockService;
  dialogs: Dialogs;
}

export function registerServiceHandlers(handle: Handle, deps: ServiceHandlerDeps): void {
  const { service, dialogs } = deps;
  const shared = serviceHandlers(service);
  for (const channel of Object.keys(shared) as SharedChannel[]) handle(channel, shared[channel] as Handler<typeof channel>);

  handle('agents.open', async () => {
    const file = await dialogs.chooseManifest();
    return file === undefined ? null : service.openAgent(file);
  });
  handle('audit.export', async ({ format, task }) => {
    const file = await dialogs.chooseExportFile(`airlock-audit${task ? `-${task}` : ''}.${format}`);
    return file === undefined ? null : service.exportAudit(file, format, task);
  });
}
