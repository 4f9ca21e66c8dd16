import { create } from 'zustand';
import type { DoctorReport, IpcError } from '../../preload/contract';
import { api, describeError } from './lib/api';

export type DoctorState =
  | { status: 'idle' }
  | { status: 'loading'; previous?: DoctorReport }
  | { status: 'ready'; report: DoctorReport; checkedAt: Date }
  | { status: 'error'; error: IpcError };

interface AppState {
  version: string | null;
  doctor: DoctorState;
  loadVersion(): Promise<void>;
  refreshDoctor(): Promise<void>;
}

export const useAppStore = create<AppState>()((set, get) => ({
  version: null,
  doctor: { status: 'idle' },

  async loadVersion() {
    try {
      set({ version: await api.app.version() });
    } catch {
      set({ version: null }); // the version is decoration; the doctor panel reports real failures
    }
  },

  async refreshDoctor() {
    const current = get().doctor;
    if (current.status === 'loading') return;
    set({ doctor: { status: 'loading', ...(current.status === 'ready' ? { previous: current.report } : {}) } });
    try {
      const report = await api.doctor.run();
      set({ doctor: { status: 'ready', report, checkedAt: new Date() } });
    } catch (error) {
      set({ doctor: { status: 'error', error: describeError(error) } });
    }
  },
}));
