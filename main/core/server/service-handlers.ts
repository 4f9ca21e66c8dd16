/**
 * The handlers of every shared channel, over the application service: the same functions answer
 * the engine's socket, a CLI running the core in-process, and (until it is a client of the
 * engine) the app's window. Schema and caller checks are done before any of these runs.
 */
import type { AirlockService } from '../service/service.js';
import type { SharedHandlers } from './engine-contract.js';
import { screenHandlers } from './screen-handlers.js';
import { terminalHandlers } from './terminal-handlers.js';

export function serviceHandlers(service: AirlockService): SharedHandlers {
  return {
    'doctor.run': () => service.doctor(),

    'images.build': (options) => service.buildImage(options),
    'images.state': () => service.imageBuildState(),

    'agents.list': () => service.listAgents(),
    'agents.forget': (id) => service.forgetAgent(id),
    'agents.approve': (id, options) => service.approveAgent(id, options),

    'tasks.list': () => service.tasks(),
    'tasks.history': ({ limit }) => service.history(limit),
    'tasks.stop': (task) => service.stop(task),
    'tasks.resume': (task) => service.resume(task),

    'approvals.list': () => service.approvals(),
    'approvals.answer': ({ id, answer }) => service.answerApproval(id, answer),

    'audit.query': (query) => service.queryAudit(query),
    'audit.verify': () => service.verifyAudit(),

    'credentials.list': () => service.listCredentials(),
    'credentials.presets': () => service.credentialPresets(),
    'credentials.add': (input) => service.addCredential(input),
    'credentials.remove': (name) => service.removeCredential(name),

    'artifacts.read': ({ task, path }) => service.artifacts.read(task, path),

    ...screenHandlers(service.screens),
    ...terminalHandlers(service.terminals),
  };
}
