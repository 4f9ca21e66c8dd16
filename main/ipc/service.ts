/**
 * The handlers of every channel the application service answers: sender and schema checks are
 * done by the registrar (register.ts) before any of these runs. Dialogs (which files to open or
 * write) are chosen in the main process, never named by the renderer.
 */
import type { AirlockService } from '../core/service/service.js';
import type { Handle } from './register.js';
import { registerScreenHandlers } from './screen.js';

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
  handle('doctor.run', () => service.doctor());

  handle('images.build', (options) => service.buildImage(options));
  handle('images.state', () => service.imageBuildState());

  handle('agents.list', () => service.listAgents());
  handle('agents.open', async () => {
    const file = await dialogs.chooseManifest();
    return file === undefined ? null : service.openAgent(file);
  });
  handle('agents.forget', (id) => service.forgetAgent(id));
  handle('agents.approve', (id, options) => service.approveAgent(id, options));

  handle('tasks.run', (request) => service.run(request));
  handle('tasks.list', () => service.tasks());
  handle('tasks.history', ({ limit }) => service.history(limit));
  handle('tasks.stop', (task) => service.stop(task));
  handle('tasks.resume', (task) => service.resume(task));

  handle('approvals.list', () => service.approvals());
  handle('approvals.answer', ({ id, answer }) => service.answerApproval(id, answer));

  handle('audit.query', (query) => service.queryAudit(query));
  handle('audit.verify', () => service.verifyAudit());
  handle('audit.export', async ({ format, task }) => {
    const file = await dialogs.chooseExportFile(`airlock-audit${task ? `-${task}` : ''}.${format}`);
    return file === undefined ? null : service.exportAudit(file, format, task);
  });

  handle('credentials.list', () => service.listCredentials());
  handle('credentials.add', (input) => service.addCredential(input));
  handle('credentials.remove', (name) => service.removeCredential(name));

  registerScreenHandlers(handle, service);
}
