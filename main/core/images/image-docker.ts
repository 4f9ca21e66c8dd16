// The two ways an image build hands its result to the engine: `docker build` of a prepared context
// folder (online builds) and `docker import` of a root filesystem tarball (offline builds), both
// reporting the engine's message stream as progress and stopping on the abort signal.
import fs from 'node:fs';
import type Dockerode from 'dockerode';
import tarFs from 'tar-fs';
import { AirlockError } from '../errors.js';
import { DockerStreamReader, type BuildMessageResult, type ImageProgress } from './image-progress.js';

interface EngineStep {
  onProgress: (p: ImageProgress) => void;
  signal?: AbortSignal | undefined;
}

/**
 * `docker build` of `contextDir`, sending exactly the files in `src`. `failed` turns the engine's
 * words (or a transport error) into the error to throw, with the hint that fits the image.
 * Resolves with the image id if the engine named one.
 */
export async function dockerBuild(
  docker: Dockerode,
  opts: EngineStep & { contextDir: string; src: string[]; tag: string; labels?: Record<string, string>; failed: (message: string, cause?: unknown) => AirlockError; noNetwork?: boolean },
): Promise<string | undefined> {
  const buildOptions: Dockerode.ImageBuildOptions = {
    t: opts.tag, rm: true, forcerm: true, ...(opts.labels ? { labels: opts.labels } : {}),
    // RUN steps without a network: nothing they run can fetch (or send) anything.
    ...(opts.noNetwork ? { networkmode: 'none' } : {}),
  };
  if (opts.signal) buildOptions.abortSignal = opts.signal;
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(buildContext(opts.contextDir, opts.src), buildOptions);
  } catch (err) {
    opts.signal?.throwIfAborted();
    throw opts.failed(`docker build failed: ${(err as Error).message}`, err);
  }
  try {
    return await followDockerStream(stream, opts.onProgress, opts.signal, (msg) => opts.failed(`docker build failed: ${msg}`));
  } catch (err) {
    opts.signal?.throwIfAborted();
    if (err instanceof AirlockError) throw err;
    throw opts.failed(`docker build failed: ${(err as Error).message}`, err);
  }
}

/**
 * The build context as a tar of exactly `src`, with the modes the files have on disk less only
 * group/other write. (dockerode's own packing masks them with the process's umask, which is 077 in
 * the engine: every COPY'd file would be root's 0600, unreadable by the agent's uid 10001.)
 */
function buildContext(contextDir: string, src: string[]): NodeJS.ReadableStream {
  return tarFs.pack(contextDir, { entries: src, umask: 0o022 });
}

/**
 * Reads the engine's JSON message stream to its end, reporting progress; rejects with the
 * engine's own words on an `error` message. Resolves with the image id if the stream named one.
 */
export function followDockerStream(
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

/** `docker import` of the tarball with the Dockerfile's config, tagged `tag`. */
export async function importRootfs(docker: Dockerode, tarPath: string, changes: string[], tag: string, options: EngineStep): Promise<string | undefined> {
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
