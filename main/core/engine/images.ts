// The agent-base image: is it there, and build it — online with `docker build` (needs the
// debian:bookworm-slim base from a registry) or offline with mmdebstrap + `docker import`. Both
// first fetch the pinned official Node.js build with npm (image-node.ts) and install it in /usr/local.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Dockerode from 'dockerode';
import { AirlockError } from '../errors.js';
import { airlockHome } from '../home.js';
import {
  assertOfflineBuildPossible,
  canBuildOffline,
  baseImageContext,
  configFromDockerfile,
  mmdebstrapArgs,
  parsePackageList,
  removeScratchDir,
  runMmdebstrap,
  suiteFromDockerfile,
  type BaseImageContext,
  type RootfsFile,
} from './image-offline.js';
import { NODE_DIST_FILES, nodePackageForArch, prepareNodeDist, type NodeDist } from './image-node.js';
import { DockerStreamReader, type BuildMessageResult, type ImageProgress } from './image-progress.js';

export type { ImageProgress } from './image-progress.js';

export const BASE_IMAGE = 'airlock/agent-base:1';

export interface ImageStatus {
  ref: string;
  present: boolean;
  id?: string;
  created?: string;
  sizeBytes?: number;
}

/** Label with the Node.js version an agent-base image was built with (from node-version.txt). */
export const NODE_VERSION_LABEL = 'airlock.node-version';

type BuildBaseImageOptions = {
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
  /** The tag to build; default BASE_IMAGE. For trying a change without replacing the image in use. */
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

export async function buildBaseImage(docker: Dockerode, options: BuildBaseImageOptions): Promise<{ image: string; id: string; seconds: number }> {
  const started = performance.now();
  options.signal?.throwIfAborted();
  const tag = options.tag ?? BASE_IMAGE;
  if (!/^[a-z0-9][a-z0-9._/:-]*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) throw new AirlockError('bad_argument', `not an image tag: ${tag}`, 'use repository:tag, e.g. airlock/agent-base:test');
  const context = baseImageContext(findContextDir(options.assetsDir));
  // Before any download: say now when the offline build cannot run here.
  const mmdebstrap = options.offline ? assertOfflineBuildPossible() : undefined;
  const arch = await engineArchitecture(docker);
  const cpu = nodePackageForArch(arch).cpu;
  if (options.offline && cpu !== process.arch) {
    // mmdebstrap bootstraps this machine's architecture; the engine could not run that image.
    throw new AirlockError('image_build_failed', `The offline build makes an image for this machine (${process.arch}), but the Docker engine runs on ${arch}.`, 'Build offline on a machine of the engine\'s architecture, or build online (without --offline).');
  }
  const scratchDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'airlock-image-'));
  let built: string | undefined;
  try {
    // apt downloads as user _apt into mmdebstrap's temp dir below this one.
    await fs.promises.chmod(scratchDir, 0o755);
    const node = await prepareNodeDist({
      versionFile: context.nodeVersion,
      arch,
      cacheDir: options.cacheDir ?? defaultImageCacheDir(),
      destDir: path.join(scratchDir, 'context', 'node-dist'),
      onProgress: options.onProgress,
      signal: options.signal,
    });
    options.signal?.throwIfAborted();
    built = mmdebstrap
      ? await buildOffline(docker, mmdebstrap, context, node, scratchDir, tag, options)
      : await buildOnline(docker, context, node, path.join(scratchDir, 'context'), tag, options);
  } finally {
    const warning = await removeScratchDir(scratchDir);
    if (warning) options.onProgress({ phase: 'done', message: `warning: ${warning}` });
  }
  // Ask the engine for the full id: the legacy builder only prints a short one.
  const id = (await imageStatus(docker, tag)).id ?? built;
  if (!id) throw new AirlockError('image_build_failed', `The build finished but ${tag} is not in the engine.`);
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  options.onProgress({ phase: 'done', message: `${tag} ready (${id.replace(/^sha256:/, '').slice(0, 12)}) in ${seconds} s`, percent: 100 });
  return { image: tag, id, seconds };
}

/** The engine's CPU architecture (x86_64, aarch64…): the image must match it, not this machine. */
async function engineArchitecture(docker: Dockerode): Promise<string> {
  try {
    const info = (await docker.info()) as { Architecture?: string };
    if (info.Architecture) return info.Architecture;
    return (await docker.version()).Arch;
  } catch (err) {
    throw new AirlockError('engine_unavailable', `Could not ask the Docker engine for its architecture: ${(err as Error).message}`, 'see `airlock doctor`', { cause: err });
  }
}

function findContextDir(assetsDir: string): string {
  for (const dir of [path.join(assetsDir, 'images', 'agent-base'), assetsDir]) {
    if (fs.existsSync(path.join(dir, 'Dockerfile'))) return dir;
  }
  throw new AirlockError('image_build_failed', `No agent-base Dockerfile under ${assetsDir} (expected images/agent-base/Dockerfile).`, 'Run Airlock from a complete checkout or installation.');
}

/**
 * `docker build` of a copy of the agent-base folder plus `node-dist/` (already in `contextDir`),
 * so the build context holds exactly what the Dockerfile COPYs.
 */
async function buildOnline(docker: Dockerode, context: BaseImageContext, node: NodeDist, contextDir: string, tag: string, options: BuildBaseImageOptions): Promise<string | undefined> {
  options.onProgress({ phase: 'resolve', message: `building ${tag} from ${context.dir}`, percent: 0 });
  const files = (await fs.promises.readdir(context.dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  for (const name of files) await fs.promises.copyFile(path.join(context.dir, name), path.join(contextDir, name));
  const src = [...files, path.basename(node.dir)];
  const buildOptions: Dockerode.ImageBuildOptions = { t: tag, rm: true, forcerm: true, labels: { [NODE_VERSION_LABEL]: node.version } };
  if (options.signal) buildOptions.abortSignal = options.signal;
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage({ context: contextDir, src }, buildOptions);
  } catch (err) {
    options.signal?.throwIfAborted();
    throw buildFailed(`docker build failed: ${(err as Error).message}`, err);
  }
  try {
    return await followDockerStream(stream, options.onProgress, options.signal, (msg) => buildFailed(`docker build failed: ${msg}`));
  } catch (err) {
    options.signal?.throwIfAborted();
    if (err instanceof AirlockError) throw err;
    throw buildFailed(`docker build failed: ${(err as Error).message}`, err);
  }
}

function buildFailed(message: string, cause?: unknown): AirlockError {
  const offline = process.platform === 'linux' ? ' If no registry is reachable, use `airlock image build --offline` (needs mmdebstrap).' : '';
  return new AirlockError('image_build_failed', message, `The online build pulls its Debian base image from a registry.${offline}`, { cause });
}

/**
 * Reads the engine's JSON message stream to its end, reporting progress; rejects with the
 * engine's own words on an `error` message. Resolves with the image id if the stream named one.
 */
function followDockerStream(
  stream: NodeJS.ReadableStream,
  onProgress: (p: ImageProgress) => void,
  signal: AbortSignal | undefined,
  engineError: (message: string) => Error,
): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const reader = new DockerStreamReader();
    let imageId: string | undefined;
    let failure: string | undefined;
    const handle = (result: BuildMessageResult): void => {
      if (result.error !== undefined) failure ??= result.error;
      if (result.imageId) imageId = result.imageId;
      if (result.progress) onProgress(result.progress);
    };
    const onAbort = (): void => {
      (stream as NodeJS.ReadableStream & { destroy?: (e?: Error) => void }).destroy?.();
      reject(signal?.reason instanceof Error ? signal.reason : new Error('image build cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('data', (chunk: Buffer) => reader.push(chunk).forEach(handle));
    stream.on('error', (err: Error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    stream.on('end', () => {
      signal?.removeEventListener('abort', onAbort);
      reader.end().forEach(handle);
      if (failure !== undefined) reject(engineError(failure));
      else resolve(imageId);
    });
  });
}

async function buildOffline(docker: Dockerode, executable: string, context: BaseImageContext, node: NodeDist, scratchDir: string, tag: string, options: BuildBaseImageOptions): Promise<string | undefined> {
  const dockerfile = await fs.promises.readFile(context.dockerfile, 'utf8');
  // The Dockerfile's config, plus the label the online build gets as a build option.
  const changes = [...configFromDockerfile(dockerfile), `LABEL ${NODE_VERSION_LABEL}=${node.version}`];
  const suite = suiteFromDockerfile(dockerfile);
  const packages = parsePackageList(await fs.promises.readFile(context.packages, 'utf8'));
  for (const file of [context.dpkgConfig, context.setupScript]) await fs.promises.access(file, fs.constants.R_OK);

  const target = path.join(scratchDir, 'rootfs.tar');
  options.onProgress({ phase: 'resolve', message: `bootstrapping Debian ${suite} with ${packages.join(', ')}`, percent: 0 });
  // What the Dockerfile's `COPY node-dist/ /usr/local/` does.
  const files: RootfsFile[] = node.files.map((rel) => ({
    source: path.join(node.dir, rel),
    target: `/usr/local/${rel}`,
    mode: Object.values(NODE_DIST_FILES).find((f) => f.to === rel)?.mode ?? 0o644,
  }));
  const args = mmdebstrapArgs({ suite, packages, dpkgConfig: context.dpkgConfig, setupScript: context.setupScript, target, files });
  await runMmdebstrap({ executable, args, scratchDir, onProgress: options.onProgress, signal: options.signal });
  return await importRootfs(docker, target, changes, tag, options);
}

/** `docker import` of the tarball with the Dockerfile's config, tagged `tag`. */
async function importRootfs(docker: Dockerode, tarPath: string, changes: string[], tag: string, options: BuildBaseImageOptions): Promise<string | undefined> {
  const size = (await fs.promises.stat(tarPath)).size;
  const file = fs.createReadStream(tarPath);
  let sent = 0;
  let lastPercent = -1;
  file.on('data', (chunk) => {
    sent += chunk.length;
    // The import takes the last ~10% of the bar.
    const percent = 90 + Math.floor((sent / size) * 9);
    if (percent !== lastPercent) {
      lastPercent = percent;
      options.onProgress({ phase: 'import', message: `importing into the engine (${Math.round(size / 1_000_000)} MB)`, percent });
    }
  });
  const [repo, version] = splitRef(tag);
  // docker-modem sends an array as repeated query parameters, as the API expects for `changes`.
  const importOptions: Record<string, unknown> = { repo, tag: version, changes, message: 'airlock image build --offline' };
  if (options.signal) importOptions.abortSignal = options.signal;
  try {
    const stream = await docker.importImage(file, importOptions);
    return await followDockerStream(stream, options.onProgress, options.signal, importFailed);
  } catch (err) {
    options.signal?.throwIfAborted();
    if (err instanceof AirlockError) throw err;
    throw importFailed((err as Error).message, err);
  } finally {
    file.destroy();
  }
}

function importFailed(message: string, cause?: unknown): AirlockError {
  return new AirlockError('image_build_failed', `Importing the root filesystem into the engine failed: ${message}`, undefined, { cause });
}

function splitRef(ref: string): [string, string] {
  const at = ref.lastIndexOf(':');
  return [ref.slice(0, at), ref.slice(at + 1)];
}

/**
 * Online first; when that fails and nobody asked for one way or the other (`offline` undefined),
 * the same image from this machine's Debian packages, where that can be done. For the CLI and the app.
 */
export async function buildBaseImagePreferOnline<T>(
  build: (docker: Dockerode, options: BuildBaseImageOptions) => Promise<T>,
  docker: Dockerode,
  options: Omit<BuildBaseImageOptions, 'offline'> & { offline: boolean | undefined; onFallback?: (reason: string) => void },
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
