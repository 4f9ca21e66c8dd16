import { create } from 'zustand';
import type { DoctorReport, ImageBuildState, IpcError } from '../../../preload/contract';
import { api, describeError } from '../lib/api';
import { parseRoute, type Route } from '../lib/route';

export type DoctorState =
  | { status: 'idle' }
  | { status: 'loading'; previous?: DoctorReport }
  | { status: 'ready'; report: DoctorReport; checkedAt: Date }
  | { status: 'error'; error: IpcError };

interface AppState {
  route: Route;
  version: string | null;
  doctor: DoctorState;
  image: ImageBuildState | null;
  imageError: IpcError | null;
  setRoute(route: Route): void;
  loadVersion(): Promise<void>;
  refreshDoctor(): Promise<void>;
  buildImage(offline?: boolean, image?: 'base' | 'desktop'): Promise<void>;
  setImageState(state: ImageBuildState): void;
}

export const useAppStore = create<AppState>()((set, get) => ({
  route: parseRoute(window.location.hash),
  version: null,
  doctor: { status: 'idle' },
  image: null,
  imageError: null,

  setRoute(route) {
    set({ route });
  },

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

  async buildImage(offline, image) {
    set({ imageError: null });
    try {
      set({ image: await api.images.build({ ...(offline === undefined ? {} : { offline }), ...(image ? { image } : {}) }) });
    } catch (error) {
      set({ imageError: describeError(error) });
    }
  },

  setImageState(state) {
    const finished = state.state === 'done' && get().image?.state === 'building';
    set({ image: state });
    if (finished) void get().refreshDoctor();
  },
}));
