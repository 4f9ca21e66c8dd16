import type Dockerode from 'dockerode';
import type { Engine } from '../engine/engine.js';
import { AGENT_IMAGES, BASE_IMAGE, buildBaseImage, buildBaseImagePreferOnline, type AgentImage, type ImageProgress } from '../images/images.js';
import { AirlockError } from '../errors.js';
import { describe } from './tasks.js';
import type { ImageBuildState } from './types.js';

export type BuildImage = (docker: Dockerode, options: { offline: boolean; onProgress: (p: ImageProgress) => void; assetsDir: string; cacheDir?: string; image?: AgentImage }) => Promise<unknown>;

/**
 * One agent-image build (agent-base or agent-desktop) at a time, in the background, with its progress pushed to the UI at most
 * every 100 ms. Like `airlock image build`: online first, and offline (from this machine's Debian
 * packages) when that fails and an offline build is possible here, unless a mode is given.
 */
export class ImageBuilds {
  readonly #deps: { engine: () => Engine; assetsDir: string; cacheDir: string; build: BuildImage | undefined };
  readonly #onState: (state: ImageBuildState) => void;
  #state: ImageBuildState = { ref: BASE_IMAGE, state: 'idle' };
  #lastPush = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(deps: { engine: () => Engine; assetsDir: string; cacheDir: string; build: BuildImage | undefined }, onState: (state: ImageBuildState) => void) {
    this.#deps = deps;
    this.#onState = onState;
  }

  state(): ImageBuildState {
    return { ...this.#state };
  }

  start(offline: boolean | undefined, image: AgentImage = 'base'): ImageBuildState {
    if (this.#state.state === 'building') throw new AirlockError('bad_argument', `${this.#state.ref} is already being built`, 'wait for the build under way to finish');
    const ref = AGENT_IMAGES[image];
    const engine = this.#deps.engine();
    const build = this.#deps.build ?? buildBaseImage;
    const onProgress = (p: ImageProgress) => this.#set({ ref, state: 'building', phase: p.phase, message: p.message, ...(p.percent !== undefined ? { percent: p.percent } : {}) }, false);
    this.#set({ ref, state: 'building', phase: 'resolve', message: 'starting the build', percent: 0 }, true);
    void (async () => {
      try {
        await buildBaseImagePreferOnline(build, engine.api, {
          offline, onProgress, assetsDir: this.#deps.assetsDir, cacheDir: this.#deps.cacheDir, ...(image === 'base' ? {} : { image }),
          onFallback: () => onProgress({ phase: 'resolve', message: 'the online build failed; building offline from this machine\'s Debian packages', percent: 0 }),
        });
        this.#set({ ref, state: 'done', phase: 'done', message: `${ref} is ready`, percent: 100 }, true);
      } catch (error) {
        this.#set({ ref, state: 'failed', message: 'the build failed', error: describe(error) }, true);
      }
    })();
    return this.state();
  }

  #set(state: ImageBuildState, now: boolean): void {
    this.#state = state;
    const wait = 100 - (Date.now() - this.#lastPush);
    if (now || wait <= 0) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#lastPush = Date.now();
      this.#onState(this.state());
    } else {
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        this.#lastPush = Date.now();
        this.#onState(this.state());
      }, wait);
    }
  }
}
