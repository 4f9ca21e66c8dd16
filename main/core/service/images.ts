import type Dockerode from 'dockerode';
import type { Engine } from '../engine/engine.js';
import { AGENT_IMAGES, BASE_IMAGE, buildBaseImage, buildBaseImagePreferOnline, type AgentImage, type ImageProgress } from '../images/images.js';
import { buildKitImage, kitRecipeDigest, type BuildKitImageOptions } from '../images/image-kit.js';
import { AirlockError } from '../errors.js';
import { findKit, kitImage, listKits } from '../kits/kit.js';
import { KitVersions } from '../kits/kit-versions.js';
import { describe } from './tasks.js';
import type { ImageBuildState } from './types.js';

export type BuildImage = (docker: Dockerode, options: { offline: boolean; onProgress: (p: ImageProgress) => void; assetsDir: string; cacheDir?: string; image?: AgentImage }) => Promise<unknown>;
export type BuildKit = (docker: Dockerode, options: BuildKitImageOptions) => Promise<unknown>;

/** A kit's image to build: the kit, the version (default kit.yaml's), a tarball instead of the registry's package. */
export interface KitBuildRequest {
  kit: string;
  version?: string | undefined;
  packageFile?: string | undefined;
  offline?: boolean | undefined;
}

/**
 * One image build (agent-base, agent-desktop or a kit's) at a time, in the background, with its
 * progress pushed to the UI at most every 100 ms. The base images like `airlock image build`: online
 * first, and offline (from this machine's Debian packages) when that fails and an offline build is
 * possible here, unless a mode is given. A kit's image is FROM the local base (built first when
 * missing); the version built is the one `run <kit>` uses from then on (kits.json).
 */
export class ImageBuilds {
  readonly #deps: { engine: () => Engine; assetsDir: string; cacheDir: string; home: string; build: BuildImage | undefined; buildKit?: BuildKit | undefined };
  readonly #onState: (state: ImageBuildState) => void;
  #state: ImageBuildState = { ref: BASE_IMAGE, state: 'idle' };
  #lastPush = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(deps: { engine: () => Engine; assetsDir: string; cacheDir: string; home: string; build: BuildImage | undefined; buildKit?: BuildKit | undefined }, onState: (state: ImageBuildState) => void) {
    this.#deps = deps;
    this.#onState = onState;
  }

  state(): ImageBuildState {
    return { ...this.#state };
  }

  start(offline: boolean | undefined, image: AgentImage = 'base'): ImageBuildState {
    const ref = AGENT_IMAGES[image];
    const build = this.#deps.build ?? buildBaseImage;
    return this.#run(ref, async (docker, onProgress) => {
      await buildBaseImagePreferOnline(build, docker, {
        offline, onProgress, assetsDir: this.#deps.assetsDir, cacheDir: this.#deps.cacheDir, ...(image === 'base' ? {} : { image }),
        onFallback: () => onProgress({ phase: 'resolve', message: 'the online build failed; building offline from this machine\'s Debian packages', percent: 0 }),
      });
    });
  }

  /** Builds a kit's image (`airlock image build --kit`, `run <kit>` when it is missing). */
  startKit(request: KitBuildRequest): ImageBuildState {
    const kit = findKit(this.#deps.assetsDir, request.kit);
    const version = request.version ?? kit.version;
    const ref = kitImage(kit.name, version);
    const build = this.#deps.buildKit ?? buildKitImage;
    return this.#run(ref, async (docker, onProgress) => {
      await build(docker, {
        recipe: { ...kit, version }, tag: ref, assetsDir: this.#deps.assetsDir, cacheDir: this.#deps.cacheDir,
        offline: request.offline === true, packageFile: request.packageFile, onProgress,
      });
      new KitVersions(this.#deps.home).use(kit, version);
    });
  }

  #run(ref: string, work: (docker: Dockerode, onProgress: (p: ImageProgress) => void) => Promise<void>): ImageBuildState {
    if (this.#state.state === 'building') throw new AirlockError('bad_argument', `${this.#state.ref} is already being built`, 'wait for the build under way to finish');
    const engine = this.#deps.engine();
    const onProgress = (p: ImageProgress) => this.#set({ ref, state: 'building', phase: p.phase, message: p.message, ...(p.percent !== undefined ? { percent: p.percent } : {}) }, false);
    this.#set({ ref, state: 'building', phase: 'resolve', message: 'starting the build', percent: 0 }, true);
    void (async () => {
      try {
        await work(engine.api, onProgress);
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

/** Each kit's image at the version `run <kit>` uses (kits.json, else kit.yaml's). */
export function kitImagesInUse(assetsDir: string, home: string): { kit: string; ref: string; recipe: string }[] {
  const versions = new KitVersions(home);
  return listKits(assetsDir).map((kit) => {
    const version = versions.versionOf(kit);
    return { kit: kit.name, ref: kitImage(kit.name, version), recipe: kitRecipeDigest({ ...kit, version }) };
  });
}
