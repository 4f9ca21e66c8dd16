import { create } from 'zustand';
import type { IpcError, PastTask, RunRequest, TaskInfo, WireEvent } from '../../../preload/contract';
import { api, describeError } from '../lib/api';
import { EventLog } from '../lib/event-log';

/** Logs of this many tasks stay in memory; the least recently updated finished ones go first. */
const MAX_LOGS = 30;
const logs = new Map<string, EventLog>();

export function logOf(task: string): EventLog {
  let log = logs.get(task);
  if (!log) {
    log = new EventLog(task);
    logs.set(task, log);
    if (logs.size > MAX_LOGS) {
      const live = new Set(useTasksStore.getState().tasks.filter((t) => !t.endedAt).map((t) => t.id));
      const evictable = [...logs.keys()].find((id) => id !== task && !live.has(id));
      if (evictable) logs.delete(evictable);
    }
  }
  return log;
}

interface TasksState {
  tasks: TaskInfo[];
  history: PastTask[];
  historyError: IpcError | null;
  /** Bumped once per event batch: log views re-read their log when it changes. */
  logVersion: number;
  setTasks(tasks: TaskInfo[]): void;
  ingest(events: WireEvent[]): void;
  refresh(): Promise<void>;
  loadHistory(): Promise<void>;
  run(request: RunRequest): Promise<string>;
  stop(task: string): Promise<IpcError | null>;
  resume(task: string): Promise<IpcError | null>;
  backfill(task: string): Promise<void>;
}

export const useTasksStore = create<TasksState>()((set, get) => ({
  tasks: [],
  history: [],
  historyError: null,
  logVersion: 0,

  setTasks(tasks) {
    const ended = tasks.some((t) => t.endedAt && !get().tasks.find((old) => old.id === t.id)?.endedAt);
    set({ tasks });
    if (ended) void get().loadHistory();
  },

  ingest(events) {
    const byTask = new Map<string, WireEvent[]>();
    for (const event of events) {
      const list = byTask.get(event.task);
      if (list) list.push(event);
      else byTask.set(event.task, [event]);
    }
    for (const [task, list] of byTask) logOf(task).append(list);
    set({ logVersion: get().logVersion + 1 });
  },

  async refresh() {
    try {
      get().setTasks(await api.tasks.list());
    } catch {
      // the tasks screen shows the engine state; a push brings the list once it works
    }
  },

  async loadHistory() {
    try {
      set({ history: await api.tasks.history({ limit: 50 }), historyError: null });
    } catch (error) {
      set({ historyError: describeError(error) });
    }
  },

  async run(request) {
    const { task } = await api.run.start(request);
    logOf(task).backfilled = true; // from its first event on, everything arrives live
    return task;
  },

  async stop(task) {
    try {
      await api.tasks.stop(task);
      return null;
    } catch (error) {
      return describeError(error);
    }
  },

  async resume(task) {
    try {
      await api.tasks.resume(task);
      return null;
    } catch (error) {
      return describeError(error);
    }
  },

  /** Reads what the trail holds of a task from before the first live event (a past task, or after a reload). */
  async backfill(task) {
    const log = logOf(task);
    if (log.backfilled) return;
    log.backfilled = true;
    const older: WireEvent[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 40; page++) {
      const result = await api.audit.query({ task, order: 'asc', limit: 5000, ...(cursor ? { cursor } : {}) });
      const first = log.firstSeq ?? Number.POSITIVE_INFINITY;
      for (const record of result.records) {
        const { n: _n, prev: _prev, hash: _hash, ...event } = record;
        if (event.seq < first) older.push(event);
      }
      if (!result.next || result.records.some((r) => r.seq >= first)) break;
      cursor = result.next;
    }
    log.prepend(older);
    set({ logVersion: get().logVersion + 1 });
  },
}));
