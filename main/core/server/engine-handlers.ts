/**
 * The one handler table of an engine: every channel of the engine's contract, answered over one
 * core. Made once per core and shared by all its callers (socket connections, in-process
 * clients), so per-caller state (screen watches, who has control) is one state.
 */
import type { Airlock } from '../airlock.js';
import { AirlockError } from '../errors.js';
import { findShadowAgents } from '../tasks/shadow.js';
import { HandlerTable, type Caller } from './dispatch.js';
import { engineContract, type EngineChannel, type EngineContract, type EngineHandlers, type SharedChannel } from './engine-contract.js';
import { serviceHandlers } from './service-handlers.js';

/** The engine-only channels the process running the core answers itself (its own status, stopping it). */
export type ProcessHandlers = Pick<EngineHandlers, 'engine.status' | 'engine.stop' | 'engine.retire'>;

/** The engine-only channels answered by the core. */
function coreHandlers(airlock: Airlock): Omit<EngineHandlers, SharedChannel | keyof ProcessHandlers> {
  const { service } = airlock;
  /** Attached tasks, by caller: task → undoes its ending with that caller. */
  const attachments = new Map<Caller, Map<string, () => void>>();
  return {
    'agents.openFile': (file) => service.openAgent(file),
    'audit.exportTo': ({ file, format, task }) => service.exportAudit(file, format, task),

    'tasks.run': (request) => service.run(request),
    'tasks.start': ({ answersAsks, ...request }, caller) => {
      const started = service.start(request);
      // In the same turn as the start: the task cannot ask before its starter answers for it.
      if (answersAsks) caller.onGone(service.attendApprovals({ task: started.task }));
      if (request.attached) stopWhenCallerGoes(airlock, started.task, caller, attachments);
      reapOnceStarted(airlock, started.task);
      return started;
    },
    'tasks.detach': (task, caller) => {
      const detach = attachments.get(caller)?.get(task);
      if (!detach) throw new AirlockError('not_found', `task ${task} is not attached to this client`, 'only the client that started it attached can detach it');
      detach();
    },
    'tasks.check': (request) => service.checkStart(request),
    'tasks.wait': (task) => service.wait(task),
    'tasks.running': () => service.runningTasks(),
    'tasks.gc': () => service.gc(),
    'images.buildKitFrom': (request) => service.buildKitFrom(request),
    'agents.inspect': (ref) => service.inspectAgent(ref),
    'agents.registered': () => service.agents.approvals.list(),
    'agents.shadow': () => findShadowAgents(airlock.engine(), airlock.home.audit),
    'approvals.denyUnasked': (id) => service.denyUnasked(id),
    'audit.prune': ({ keepDays }) => service.pruneAudit(keepDays),
    'audit.forward.add': (input, { secret }) => service.forwarders.add(input, secret),
    'audit.forward.flush': ({ timeoutMs }) => service.forwarders.flush(timeoutMs),
    'changes.get': (task) => service.changes.current(task),
    'changes.apply': ({ task, threeWay }) => service.changes.apply(task, threeWay),
    'changes.discard': (task) => service.changes.discard(task),
    'artifacts.saveTo': ({ task, path, file }) => service.artifacts.saveTo(task, path, file),
    'artifacts.locate': ({ task, path }) => service.artifacts.locate(task, path),
  };
}

/** An attached task ends with its caller (a closed terminal is Ctrl-C), never orphaned. */
function stopWhenCallerGoes(airlock: Airlock, task: string, caller: Caller, attachments: Map<Caller, Map<string, () => void>>): void {
  const undoGone = caller.onGone(() => {
    attachments.delete(caller);
    void airlock.service.stop(task).catch(() => undefined); // already over: nothing to stop
  });
  const ofCaller = attachments.get(caller) ?? new Map<string, () => void>();
  attachments.set(caller, ofCaller);
  // Detached (tasks.detach) or over: the task no longer ends with this caller.
  const undo = () => {
    undoGone();
    ofCaller.delete(task);
    if (ofCaller.size === 0 && attachments.get(caller) === ofCaller) attachments.delete(caller);
  };
  ofCaller.set(task, undo);
  void airlock.service.wait(task).catch(() => undefined).finally(undo);
}

/** Cleans up after crashed Airlock processes once a task is under way, so it does not delay the start. */
function reapOnceStarted(airlock: Airlock, task: string): void {
  const unsubscribe = airlock.bus.subscribe((event) => {
    if (event.task !== task || event.kind !== 'task.started') return;
    unsubscribe();
    void airlock.reap();
  });
  void airlock.service.wait(task).catch(() => undefined).finally(unsubscribe); // it never started
}

export function createEngineHandlers(airlock: Airlock, processHandlers: ProcessHandlers): HandlerTable<EngineContract> {
  const table = new HandlerTable(engineContract);
  const handlers = { ...serviceHandlers(airlock.service), ...coreHandlers(airlock), ...processHandlers } as EngineHandlers;
  for (const channel of Object.keys(handlers) as EngineChannel[]) table.handle(channel, handlers[channel] as never);
  table.assertComplete();
  return table;
}
