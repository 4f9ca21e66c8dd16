/**
 * The handlers of every shared channel, over the application service: the same functions answer
 * the engine's socket, a CLI running the core in-process, and (until it is a client of the
 * engine) the app's window. Schema and caller checks are done before any of these runs.
 */
import type { AirlockService } from '../service/service.js';
import { AirlockError } from '../errors.js';
import type { Caller } from './dispatch.js';
import type { SharedHandlers } from './engine-contract.js';
import { screenHandlers } from './screen-handlers.js';
import { terminalHandlers } from './terminal-handlers.js';

/** Runs one client may say it answers for (a CLI has one; a window answers for all). */
const MAX_ATTENDED_SCOPES = 64;

/** A caller answers asks while it is connected; saying so again for the same scope changes nothing. */
function attendHandler(service: AirlockService): SharedHandlers['approvals.attend'] {
  const byCaller = new WeakMap<Caller, Set<string>>();
  return ({ task }, caller) => {
    const scopes = byCaller.get(caller) ?? new Set<string>();
    byCaller.set(caller, scopes);
    if (scopes.has(task ?? '*')) return;
    if (scopes.size >= MAX_ATTENDED_SCOPES) throw new AirlockError('bad_argument', `one client answers for at most ${MAX_ATTENDED_SCOPES} runs`, 'answer for every task instead ({})');
    scopes.add(task ?? '*');
    caller.onGone(service.attendApprovals(task ? { task } : {}));
  };
}

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
    'approvals.attend': attendHandler(service),

    'audit.query': (query) => service.queryAudit(query),
    'audit.verify': () => service.verifyAudit(),
    'audit.forward.list': () => service.forwarders.list(),
    'audit.forward.remove': ({ name }) => service.forwarders.remove(name),

    'credentials.list': () => service.listCredentials(),
    'credentials.presets': () => service.credentialPresets(),
    'credentials.add': (input) => service.addCredential(input),
    'credentials.remove': (name) => service.removeCredential(name),

    'artifacts.read': ({ task, path }) => service.artifacts.read(task, path),

    ...screenHandlers(service.screens),
    ...terminalHandlers(service.terminals),
  };
}
