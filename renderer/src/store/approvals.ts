import { create } from 'zustand';
import type { ApprovalInfo, IpcError } from '../../../preload/contract';
import { api, describeError } from '../lib/api';

interface ApprovalsState {
  pending: ApprovalInfo[];
  error: IpcError | null;
  setPending(pending: ApprovalInfo[]): void;
  refresh(): Promise<void>;
  answer(id: string, answer: 'once' | 'task' | 'deny'): Promise<void>;
}

export const useApprovalsStore = create<ApprovalsState>()((set, get) => ({
  pending: [],
  error: null,
  setPending(pending) {
    set({ pending });
  },
  async refresh() {
    try {
      set({ pending: await api.approvals.list() });
    } catch {
      // pushes keep the list current once the app can answer
    }
  },
  async answer(id, answer) {
    set({ pending: get().pending.filter((p) => p.id !== id), error: null });
    try {
      await api.approvals.answer({ id, answer });
    } catch (error) {
      set({ error: describeError(error) });
      await get().refresh();
    }
  },
}));
