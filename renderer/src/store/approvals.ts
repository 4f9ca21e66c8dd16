import { create } from 'zustand';
import type { ApprovalInfo, IpcError } from '../../../preload/contract';
import { api, describeError } from '../lib/api';
import { keepOrder } from '../lib/ask-placement';

interface ApprovalsState {
  pending: ApprovalInfo[];
  error: IpcError | null;
  setPending(pending: ApprovalInfo[]): void;
  refresh(): Promise<void>;
  answer(id: string, answer: ApprovalAnswer): Promise<IpcError | null>;
  /** The request whose "Allow always" waits for a confirmation, in a small dialog. */
  confirming: ApprovalInfo | null;
  confirmAlways(request: ApprovalInfo | null): void;
}

export type ApprovalAnswer = 'once' | 'task' | 'always' | 'deny';

export const useApprovalsStore = create<ApprovalsState>()((set, get) => ({
  pending: [],
  error: null,
  confirming: null,
  setPending(pending) {
    const confirming = get().confirming;
    // A request that timed out (or was answered elsewhere) takes its confirmation with it.
    // In first-seen order whatever order they come in: a new ask is appended, never inserted before one on screen.
    set({ pending: keepOrder(get().pending, pending), confirming: confirming && pending.some((p) => p.id === confirming.id) ? confirming : null });
  },
  confirmAlways(request) {
    set({ confirming: request });
  },
  async refresh() {
    try {
      set({ pending: keepOrder(get().pending, await api.approvals.list()) });
    } catch {
      // pushes keep the list current once the app can answer
    }
  },
  async answer(id, answer) {
    const before = get().pending;
    // "always" stays on screen until it is done: it may be refused (the manifest cannot be changed).
    if (answer !== 'always') set({ pending: before.filter((p) => p.id !== id), error: null });
    try {
      await api.approvals.answer({ id, answer });
      set({ pending: get().pending.filter((p) => p.id !== id), error: null, confirming: null });
      return null;
    } catch (error) {
      const described = describeError(error);
      set({ error: described });
      await get().refresh();
      return described;
    }
  },
}));
