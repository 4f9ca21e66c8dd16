// The agent images: is one there, and build it. airlock/agent-base — online with `docker build`
// (needs the debian:bookworm-slim base from a registry) or offline with mmdebstrap + `docker import`;
// both first fetch the pinned official Node.js build with npm (image-node.ts) and install it in
// /usr/local. airlock/agent-desktop, the base plus a desktop — online a `docker build` FROM the
// local base image (built first when missing), offline one mmdebstrap root filesystem with both.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Dockerode from 'dockerode';
import { AirlockError } from '../errors.js';
import { airlockHome } from '../home.js';
import { dockerBuild, importRootfs } from './image-docker.js';
import {
  assertOfflineBuildPossible,
  canBuildOffline,
  baseImageContext,
  configFromDockerfile,
  desktopImageContext,
  mergeImageConfig,
  mergePackageLists,
  mmdebstrapArgs,
  parsePackageList,
  removeScratchDir,
  runMmdebstrap,
  suiteFromDockerfile,
  type BaseImageContext,
  type DesktopImageContext,
  type RootfsFile,
} from './image-offline.js';
import { nodePackageForArch, parseNodeVersionFile, prepareNodeDist, type NodeDist } from './image-node.js';
import { prepareNpmDist } from './image-npm.js';
import type { ImageProgress } from './image-progress.js';

export type { ImageProgress } from './image-progress.js';

import { AGENT_IMAGES, BASE_IMAGE, type AgentImage } from './image-names.js';

export { AGENT_IMAGES, BASE_IMAGE, DESKTOP_IMAGE, type AgentImage } from './image-names.js';

export interface ImageStatus {
  ref: string;
  present: boolean;
  id?: string;
  created?: string;
  sizeBytes?: number;
}

/** Label with the Node.js version an agent-base image was built with (from node-version.txt). */
export const NODE_VERSION_LABEL = 'airlock.node-version';
/** Label with the npm version an agent-base image was built with (from npm-version.txt). */
export const NPM_VERSION_LABEL = 'airlock.npm-version';
/**
 * Label with what agents can rely on in agent-base, as a number raised whenever that changes (2:
 * npm, npx, pip and venv). An image with a lower one (or none) is older than this Airlock expects.
 */
export const BASE_REVISION_LABEL = 'airlock.base-revision';
export const BASE_REVISION = 2;

/** The labels every agent-base build gets (a build option online, import changes offline). */
function baseLabels(node: NodeDist, npmVersion: string): Record<string, string> {
  return { [NODE_VERSION_LABEL]: node.version, [NPM_VERSION_LABEL]: npmVersion, [BASE_REVISION_LABEL]: String(BASE_REVISION) };
}

/**
 * Whether `ref` is there but built by an older Airlock than this one expects (its revision label
 * below BASE_REVISION): agents would miss what README promises (npm, pip…), so it must be rebuilt.
 */
export async function isOutdatedBase(docker: Dockerode, ref: string): Promise<boolean> {
  const info = await docker.getImage(ref).inspect().catch(() => undefined);
  return info !== undefined && baseRevisionOf(info.Config?.Labels) < BASE_REVISION;
}

/** The revision label's value, or 0 for an image without one (built before it existed). */
export function baseRevisionOf(labels: Record<string, string> | null | undefined): number {
  const text = labels?.[BASE_REVISION_LABEL];
  return text !== undefined && /^\d{1,6}$/.test(text) ? Number(text) : 0;
}

export type BuildImageOptions = {
  offline: boolean;
  onProgress: (p: ImageProgress) => void;
  signal?: AbortSignal;
  /** The repository's `assets` folder (the agent-base folder itself is accepted too). */
  assetsDir: string;
  /**
   * Where the downloaded Node.js tarball is kept between builds; default `cache` in AIRLOCK_HOME.
   * Give AIRLOCK_HOME's when you have it (the default reads AIRLOCK_HOME from the environment).
   */
  cacheDir?: string;
  /** Which image; default `base`. */
  image?: AgentImage;
  /** The tag to build; default the image's (BASE_IMAGE, DESKTOP_IMAGE). For trying a change without replacing the image in use. */
  tag?: string;
};

/** The default cache of image build downloads: `<AIRLOCK_HOME>/cache`. */
export function defaultImageCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(airlockHome(env), 'cache');
}

/** Whether `ref` exists in the engine; engine errors other than "no such image" propagate. */
export async function imageStatus(docker: Dockerode, ref: string): Promise<ImageStatus> {
  try {
    const info = await docker.getImage(ref).inspect();
    return { ref, present: true, id: info.Id, created: info.Created, sizeBytes: info.Size };
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return { ref, present: false };
    throw err;
  }
}

/** Builds agent-base, or with `image: 'desktop'` agent-desktop; see the top of this file. */
export async function buildBaseImage(docker: Dockerode, options: BuildImageOptions): Promise<{ image: string; id: string; seconds: number }> {
  const started = performance.now();
  options.signal?.throwIfAborted();
  const tag = options.tag ?? AGENT_IMAGES[options.image ?? 'base'];
  if (!/^[a-z0-9][a-z0-9._/:-]*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) throw new AirlockError('bad_argument', `not an image tag: ${tag}`, 'use repository:tag, e.g. airlock/agent-base:test');
  const base = baseImageContext(findContextDir(options.assetsDir, 'agent-base'));
  const desktop = options.image === 'desktop' ? desktopImageContext(findContextDir(options.assetsDir, 'agent-desktop')) : undefined;
  // Before any download: say now when the offline build cannot run here.
  const mmdebstrap = options.offline ? assertOfflineBuildPossible() : undefined;
  // Online, the desktop is a layer on the local base image, which already has Node.js.
  const built = desktop && !mmdebstrap
    ? await buildDesktopOnline(docker, base, desktop, tag, options)
    : await buildWithNode(docker, mmdebstrap, base, desktop, tag, options);
  // Ask the engine for the full id: the legacy builder only prints a short one.
  const id = (await imageStatus(docker, tag)).id ?? built;
  if (!id) throw new AirlockError('image_build_failed', `The build finished but ${tag} is not in the engine.`);
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  options.onProgress({ phase: 'done', message: `${tag} ready (${id.replace(/^sha256:/, '').slice(0, 12)}) in ${seconds} s`, percent: 100 });
  return { image: tag, id, seconds };
}

/** The builds that fetch Node.js first: agent-base online, and either image offline. */
async function buildWithNode(docker: Dockerode, mmdebstrap: string | undefined, base: BaseImageContext, desktop: DesktopImageContext | undefined, tag: string, options: BuildImageOptions): Promise<string | undefined> {
  const arch = await engineArchitecture(docker);
  const cpu = nodePackageForArch(arch).cpu;
  if (mmdebstrap && cpu !== process.arch) {
    // mmdebstrap bootstraps this machine's architecture; the engine could not run that image.
    throw new AirlockError('image_build_failed', `The offline build makes an image for this machine (${process.arch}), but the Docker engine runs on ${arch}.`, 'Build offline on a machine of the engine\'s architecture, or build online (without --offline).');
  }
  return withScratchDir(options, async (scratchDir) => {
    const cacheDir = options.cacheDir ?? defaultImageCacheDir();
    const destDir = path.join(scratchDir, 'context', 'node-dist');
    const node = await prepareNodeDist({ versionFile: base.nodeVersion, arch, cacheDir, destDir, onProgress: options.onProgress, signal: options.signal });
    options.signal?.throwIfAborted();
    // Into the same /usr/local tree: npm is JavaScript, the same for every architecture.
    const npm = await prepareNpmDist({ versionFile: base.npmVersion, cacheDir, destDir, onProgress: options.onProgress, signal: options.signal });
    options.signal?.throwIfAborted();
    const labels = baseLabels(node, npm.version);
    return mmdebstrap
      ? await buildOffline(docker, mmdebstrap, base, desktop, node, labels, scratchDir, tag, options)
      : await buildOnline(docker, base, node, labels, path.join(scratchDir, 'context'), tag, options);
  });
}

/** A fresh temp dir (0755: apt downloads as user _apt below it) for `work`, removed afterwards. */
export async function withScratchDir<T>(options: Pick<BuildImageOptions, 'onProgress'>, work: (dir: string) => Promise<T>): Promise<T> {
  const scratchDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'airlock-image-'));
  try {
    await fs.promises.chmod(scratchDir, 0o755);
    return await work(scratchDir);
  } finally {
    const warning = await removeScratchDir(scratchDir);
    if (warning) options.onProgress({ phase: 'done', message: `warning: ${warning}` });
  }
}

/** The engine's CPU architecture (x86_64, aarch64…): the image must match it, not this machine. */
export async function engineArchitecture(docker: Dockerode): Promise<string> {
  try {
    const info = (await docker.info()) as { Architecture?: string };
    if (info.Architecture) return info.Architecture;
    return (await docker.version()).Arch;
  } catch (err) {
    throw new AirlockError('engine_unavailable', `Could not ask the Docker engine for its architecture: ${(err as Error).message}`, 'see `airlock doctor`', { cause: err });
  }
}

/** assets/images/<name>, or <name> beside the folder given (the agent-base folder itself is accepted). */
function findContextDir(assetsDir: string, name: 'agent-base' | 'agent-desktop'): string {
  const candidates = [path.join(assetsDir, 'images', name), name === 'agent-base' ? assetsDir : path.join(path.dirname(assetsDir), name)];
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, 'Dockerfile'))) return dir;
  }
  throw new AirlockError('image_build_failed', `No ${name} Dockerfile under ${assetsDir} (expected images/${name}/Dockerfile).`, 'Run Airlock from a complete checkout or installation.');
}

/** Copies the files of `dir` into `contextDir`; returns their names. */
export async function copyFolder(dir: string, contextDir: string): Promise<string[]> {
  await fs.promises.mkdir(contextDir, { recursive: true });
  const files = (await fs.promises.readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  for (const name of files) await fs.promises.copyFile(path.join(dir, name), path.join(contextDir, name));
  return files;
}

/**
 * `docker build` of a copy of the agent-base folder plus `node-dist/` (already in `contextDir`),
 * so the build context holds exactly what the Dockerfile COPYs.
 */
async function buildOnline(docker: Dockerode, context: BaseImageContext, node: NodeDist, labels: Record<string, string>, contextDir: string, tag: string, options: BuildImageOptions): Promise<string | undefined> {
  options.onProgress({ phase: 'resolve', message: `building ${tag} from ${context.dir}`, percent: 0 });
  const files = await copyFolder(context.dir, contextDir);
  return dockerBuild(docker, {
    contextDir, src: [...files, path.basename(node.dir)], tag, labels,
    onProgress: options.onProgress, signal: options.signal, failed: baseBuildFailed,
  });
}

function baseBuildFailed(message: string, cause?: unknown): AirlockError {
  const offline = process.platform === 'linux' ? ' If no registry is reachable, use `airlock image build --offline` (needs mmdebstrap).' : '';
  return new AirlockError('image_build_failed', message, `The online build pulls its Debian base image from a registry.${offline}`, { cause });
}

function desktopBuildFailed(message: string, cause?: unknown): AirlockError {
  const offline = process.platform === 'linux' ? ' Where that fails, `airlock image build --desktop --offline` installs them with this machine\'s apt instead (needs mmdebstrap).' : '';
  return new AirlockError('image_build_failed', message, `The desktop build installs its Debian packages with apt in a container FROM ${BASE_IMAGE}, from Debian's mirrors.${offline}`, { cause });
}

/** Progress of one stage of a longer build, on its share [from, to] of the bar. */
export function stageProgress(onProgress: (p: ImageProgress) => void, from: number, to: number, label: string): (p: ImageProgress) => void {
  return (p) => onProgress({
    // The stage's end is not the build's.
    phase: p.phase === 'done' ? 'build' : p.phase,
    message: `${label}: ${p.message}`,
    ...(p.percent !== undefined ? { percent: Math.round(from + (p.percent * (to - from)) / 100) } : {}),
  });
}

/**
 * `docker build` of the desktop folder (plus the base's dpkg-nodoc.cfg) FROM the local agent-base
 * image; builds that first, online, when it is missing.
 */
async function buildDesktopOnline(docker: Dockerode, base: BaseImageContext, desktop: DesktopImageContext, tag: string, options: BuildImageOptions): Promise<string | undefined> {
  let onProgress = options.onProgress;
  const baseInfo = await docker.getImage(BASE_IMAGE).inspect().catch((err: { statusCode?: number }) => {
    if (err.statusCode === 404) return undefined;
    throw err;
  });
  if (!baseInfo) {
    onProgress({ phase: 'resolve', message: `${BASE_IMAGE} is missing: building it first`, percent: 0 });
    await buildBaseImage(docker, {
      offline: false, image: 'base', assetsDir: options.assetsDir, onProgress: stageProgress(onProgress, 0, 40, BASE_IMAGE),
      ...(options.signal ? { signal: options.signal } : {}), ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    });
    onProgress = stageProgress(options.onProgress, 40, 100, tag);
  } else {
    const pinned = parseNodeVersionFile(await fs.promises.readFile(base.nodeVersion, 'utf8')).version;
    const has = baseInfo.Config.Labels?.[NODE_VERSION_LABEL];
    if (has !== pinned) onProgress({ phase: 'resolve', message: `warning: ${BASE_IMAGE} has Node.js ${has ?? '(unknown)'}, not the pinned ${pinned}: rebuild it (airlock image build), then this one`, percent: 0 });
  }
  options.signal?.throwIfAborted();
  return withScratchDir(options, async (scratchDir) => {
    const contextDir = path.join(scratchDir, 'context');
    onProgress({ phase: 'resolve', message: `building ${tag} from ${desktop.dir}`, percent: 0 });
    const files = await copyFolder(desktop.dir, contextDir);
    await fs.promises.copyFile(base.dpkgConfig, path.join(contextDir, path.basename(base.dpkgConfig)));
    // COPY keeps the mode the context has; the launcher must be executable whatever the checkout did.
    await fs.promises.chmod(path.join(contextDir, path.basename(desktop.launcher.source)), 0o755);
    return dockerBuild(docker, {
      contextDir, src: [...files, path.basename(base.dpkgConfig)], tag, onProgress, signal: options.signal, failed: desktopBuildFailed,
    });
  });
}

/**
 * One mmdebstrap root filesystem with the base's packages (and the desktop's), the Node.js files
 * (and the desktop launcher), setup.sh, imported with the base Dockerfile's config (then the
 * desktop Dockerfile's).
 */
async function buildOffline(docker: Dockerode, executable: string, base: BaseImageContext, desktop: DesktopImageContext | undefined, node: NodeDist, labels: Record<string, string>, scratchDir: string, tag: string, options: BuildImageOptions): Promise<string | undefined> {
  const dockerfile = await fs.promises.readFile(base.dockerfile, 'utf8');
  let config = configFromDockerfile(dockerfile);
  const lists = [parsePackageList(await fs.promises.readFile(base.packages, 'utf8'))];
  // What the Dockerfile's `COPY node-dist/ /usr/local/` does.
  const trees = [{ source: node.dir, target: '/usr/local' }];
  const files: RootfsFile[] = [];
  if (desktop) {
    config = mergeImageConfig(config, configFromDockerfile(await fs.promises.readFile(desktop.dockerfile, 'utf8'), 'agent-desktop'));
    lists.push(parsePackageList(await fs.promises.readFile(desktop.packages, 'utf8')));
    files.push({ ...desktop.launcher, mode: 0o755 }, { ...desktop.browserPolicy, mode: 0o644 });
  }
  // The Dockerfile's config, plus the labels the online build gets as a build option.
  const changes = [...config, ...Object.entries(labels).map(([name, value]) => `LABEL ${name}=${value}`)];
  const suite = suiteFromDockerfile(dockerfile);
  const packages = mergePackageLists(...lists);
  for (const file of [base.dpkgConfig, base.setupScript, ...trees.map((t) => t.source), ...files.map((f) => f.source)]) await fs.promises.access(file, fs.constants.R_OK);

  const target = path.join(scratchDir, 'rootfs.tar');
  options.onProgress({ phase: 'resolve', message: `bootstrapping Debian ${suite} with ${packages.join(', ')}`, percent: 0 });
  const args = mmdebstrapArgs({ suite, packages, dpkgConfig: base.dpkgConfig, setupScript: base.setupScript, target, files, trees });
  await runMmdebstrap({ executable, args, scratchDir, onProgress: options.onProgress, signal: options.signal });
  return await importRootfs(docker, target, changes, tag, options);
}

/**
 * Online first; when that fails and nobody asked for one way or the other (`offline` undefined),
 * the same image from this machine's Debian packages, where that can be done. For the CLI and the
 * app, for either image (`image` in the options).
 */
export async function buildBaseImagePreferOnline<T>(
  build: (docker: Dockerode, options: BuildImageOptions) => Promise<T>,
  docker: Dockerode,
  options: Omit<BuildImageOptions, 'offline'> & { offline: boolean | undefined; onFallback?: (reason: string) => void },
): Promise<T> {
  const { offline, onFallback, ...rest } = options;
  try {
    return await build(docker, { ...rest, offline: offline === true });
  } catch (error) {
    if (offline !== undefined || rest.signal?.aborted || !canBuildOffline()) throw error;
    onFallback?.((error as Error).message.split('\n')[0]!);
    return build(docker, { ...rest, offline: true });
  }
}
