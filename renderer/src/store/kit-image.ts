import type { ImageBuildState } from '../../../preload/contract';
import { api } from '../lib/api';
import { useAppStore } from './app';

/**
 * Builds a kit's image (the engine's one image build at a time; its progress arrives on the
 * `images` push, which the app store keeps) and resolves once the image is there, or rejects with
 * the build's error. The first run of a kit in the app: its image is missing, so it is built, then run.
 */
export async function buildKitImage(kit: string, version: string): Promise<void> {
  let ref: string | undefined;
  let settle: ((state: ImageBuildState) => void) | undefined;
  const finished = new Promise<void>((resolve, reject) => {
    settle = (state) => {
      if (state.ref !== ref || (state.state !== 'done' && state.state !== 'failed')) return;
      unsubscribe();
      if (state.state === 'done') resolve();
      else reject(Object.assign(new Error(state.error?.message ?? `building ${ref} failed`), { code: state.error?.code ?? 'image_build_failed', hint: state.error?.hint }));
    };
  });
  const unsubscribe = useAppStore.subscribe((s) => s.image && settle?.(s.image));
  const before = useAppStore.getState().image;
  try {
    const started = await api.images.build({ kit, version });
    ref = started.ref;
    const now = useAppStore.getState().image;
    // Its progress may have been pushed before the answer came back: keep the newest state.
    if (now && now !== before && now.ref === ref) settle?.(now);
    else useAppStore.getState().setImageState(started);
  } catch (error) {
    // The same kit's image already being built (another click, the CLI): wait for that build.
    const now = useAppStore.getState().image;
    if (now?.state !== 'building' || !now.ref.startsWith(`airlock/kit-${kit}:`)) {
      unsubscribe();
      throw error;
    }
    ref = now.ref;
  }
  await finished;
}

/**
 * The version of the kit's image `run <kit>` would use when that image is missing or made from an older recipe (the doctor's
 * report names each kit's image in use: kit.yaml's version, or the one the user built last), else undefined.
 */
export async function missingKitVersion(kit: string): Promise<string | undefined> {
  const report = await api.doctor.run();
  const missing = report.images.find((image) => image.kit === kit && (!image.present || image.outdated));
  return missing?.ref.slice(missing.ref.lastIndexOf(':') + 1);
}
