import { create } from 'zustand';
import type { AgentSummary, IpcError } from '../../../preload/contract';
import { api, describeError } from '../lib/api';

interface AgentsState {
  agents: AgentSummary[];
  loaded: boolean;
  error: IpcError | null;
  /** The agent the run dialog is open for. */
  runFor: AgentSummary | null;
  load(): Promise<void>;
  open(): Promise<void>;
  forget(id: string): Promise<void>;
  /** `replaces`: the digest of the approval under the same name the person agreed to replace. */
  approve(id: string, replaces?: string): Promise<void>;
  openRunDialog(agent: AgentSummary | null): void;
}

export const useAgentsStore = create<AgentsState>()((set, get) => ({
  agents: [],
  loaded: false,
  error: null,
  runFor: null,

  async load() {
    try {
      set({ agents: await api.agents.list(), loaded: true, error: null });
    } catch (error) {
      set({ loaded: true, error: describeError(error) });
    }
  },

  async open() {
    try {
      const opened = await api.agents.open();
      if (opened) await get().load();
      set({ error: null });
    } catch (error) {
      set({ error: describeError(error) });
    }
  },

  async forget(id) {
    try {
      await api.agents.forget(id);
      await get().load();
    } catch (error) {
      set({ error: describeError(error) });
    }
  },

  async approve(id, replaces) {
    try {
      await api.agents.approve(id, replaces === undefined ? {} : { replaces });
      await get().load();
      set({ error: null });
    } catch (error) {
      set({ error: describeError(error) });
    }
  },

  openRunDialog(agent) {
    set({ runFor: agent });
  },
}));
