import fs from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { BackendContainer } from '../engine/backend.js';
import type { Engine } from '../engine/engine.js';
import { taskBackend } from '../engine/task-backend.js';

/** Bounds on the throwaway container that turns the agent's repository into a bundle. */
export interface BundleLimits {
  /** Bytes of the working copy (its `.git` included) given to git; more and no bundle is made. */
  maxInputBytes: number;
  /** Bytes of the bundle taken back. */
  maxBundleBytes: number;
  /** Wall time for git in the container. */
  timeoutMs: number;
  memoryBytes: number;
}

export const DEFAULT_BUNDLE_LIMITS: BundleLimits = { maxInputBytes: 2 * 1024 ** 3, maxBundleBytes: 512 * 1024 ** 2, timeoutMs: 120_000, memoryBytes: 512 * 1024 ** 2 };

/** The ref the bundle carries (the fetch names it). */
export const BUNDLE_REF = 'refs/airlock/change';

/** Where git leaves the bundle: inside the copy's own `.git` (the rest of the volume is root's). */
const BUNDLE_FILE = '.git/airlock-change.bundle';

/**
 * Git in the throwaway container. The agent's `.git` loses its config (replaced), hooks and
 * info/attributes first, and every command runs with hooks, fsmonitor and attribute files off, so
 * nothing the agent planted runs even there. Its uncommitted work (what `git add -A` takes) becomes
 * one commit on top of its HEAD; the bundle holds what HEAD has that the task's base commit has not.
 * Exit 4: nothing to carry (HEAD is the base, or no commit at all).
 */
const BUNDLE_SCRIPT = `set -eu
cd "/work/$AIRLOCK_FOLDER"
[ -d .git ] || { echo 'the project has no .git folder' >&2; exit 3; }
rm -rf .git/hooks .git/info/attributes .git/config.worktree .git/airlock-change.bundle
printf '[core]\\n\\trepositoryformatversion = 0\\n\\tbare = false\\n\\tfilemode = true\\n' > .git/config
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME=/tmp GIT_TERMINAL_PROMPT=0 GIT_OPTIONAL_LOCKS=0
g() { git -c core.hooksPath=/dev/null -c core.fsmonitor=false -c core.attributesFile=/dev/null -c core.untrackedCache=false -c commit.gpgSign=false -c user.name=Airlock -c user.email=airlock@airlock.invalid "$@"; }
g add -A
if g rev-parse -q --verify HEAD >/dev/null; then
  g diff --cached --quiet || g commit --no-verify -q -m "$AIRLOCK_WIP_MESSAGE"
else
  [ -z "$(g ls-files)" ] && exit 4
  g commit --no-verify -q -m "$AIRLOCK_WIP_MESSAGE"
fi
head=$(g rev-parse --verify HEAD^{commit})
[ "$head" = "\${AIRLOCK_BASE:-}" ] && exit 4
g update-ref ${BUNDLE_REF} "$head"
if [ -n "\${AIRLOCK_BASE:-}" ]; then g bundle create -q ${BUNDLE_FILE} ${BUNDLE_REF} "^$AIRLOCK_BASE"; else g bundle create -q ${BUNDLE_FILE} ${BUNDLE_REF}; fi
`;

export type BundleResult = { made: true; file: string } | { made: false; reason?: string };

/**
 * Makes `change.bundle` from the agent's working copy (the engine's archive of its project folder)
 * with git running in a throwaway container: agent-base image, network none, every capability
 * dropped, read-only root, the agent's uid, memory/pids/time bounds, the copy on a volume of its own
 * (removed after) and its input bounded in bytes. Host git never touches the agent's `.git`.
 * Writes the bundle to `outFile`. Never throws for what the agent's data does: a reason instead.
 */
export async function makeChangeBundle(options: {
  engine: Engine;
  image: string;
  archive: NodeJS.ReadableStream;
  /** The project folder's own name (the archive's top entry). */
  folder: string;
  baseHead: string | undefined;
  task: string;
  labels: Record<string, string>;
  outFile: string;
  limits?: BundleLimits;
}): Promise<BundleResult> {
  const limits = options.limits ?? DEFAULT_BUNDLE_LIMITS;
  const backend = taskBackend(options.engine);
  const volume = `airlock-${options.task}-bundle`;
  await backend.createVolume(volume, options.labels);
  let container: BackendContainer | undefined;
  try {
    container = await backend.createJob({
      labels: options.labels, image: options.image, command: ['sh', '-c', BUNDLE_SCRIPT], workdir: '/work', volume,
      env: [`AIRLOCK_FOLDER=${options.folder}`, `AIRLOCK_WIP_MESSAGE=airlock: uncommitted work of task ${options.task}`, ...(options.baseHead ? [`AIRLOCK_BASE=${options.baseHead}`] : [])],
      limits: { cpus: 1, memoryBytes: limits.memoryBytes, pids: 64 },
    });
    try {
      const bounded = byteBound(limits.maxInputBytes);
      const feeding = pipeline(options.archive, bounded);
      await Promise.all([container.copyIn('/work', bounded as unknown as NodeJS.ReadableStream), feeding]);
    } catch {
      return { made: false, reason: `the working copy holds more than ${limits.maxInputBytes} bytes (its .git included), or could not be read` };
    }
    await container.start();
    const exit = await waitBounded(container, limits.timeoutMs);
    if (exit === 'timeout') return { made: false, reason: `git took longer than ${limits.timeoutMs} ms` };
    if (exit === 4) return { made: false };
    if (exit !== 0) return { made: false, reason: `git could not bundle the agent's repository (exit ${exit})` };
    const bundleArchive = await container.copyOut(`/work/${options.folder}/${BUNDLE_FILE}`);
    if (!bundleArchive) return { made: false, reason: 'git left no bundle' };
    const size = await extractSingle(bundleArchive, options.outFile, limits.maxBundleBytes);
    if (size === undefined) return { made: false, reason: `the bundle is larger than ${limits.maxBundleBytes} bytes` };
    return { made: true, file: options.outFile };
  } finally {
    await container?.remove({ volumes: false }).catch(() => undefined);
    await backend.removeVolume(volume).catch(() => undefined);
  }
}

async function waitBounded(container: BackendContainer, timeoutMs: number): Promise<number | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const result = await Promise.race([container.wait(), timeout]);
    if (result === 'timeout') {
      await container.kill('SIGKILL').catch(() => undefined);
      return 'timeout';
    }
    return (await container.state()).exitCode;
  } finally {
    clearTimeout(timer);
  }
}

/** Writes the archive's one file to `file`; undefined (and nothing kept) past `maxBytes`. */
async function extractSingle(archive: NodeJS.ReadableStream, file: string, maxBytes: number): Promise<number | undefined> {
  const extract = tar.extract();
  const reading = pipeline(archive, extract).catch(() => undefined);
  let size: number | undefined;
  for await (const entry of extract) {
    if (size !== undefined || entry.header.type !== 'file' || (entry.header.size ?? 0) > maxBytes) {
      entry.resume();
      continue;
    }
    await pipeline(entry, fs.createWriteStream(file, { mode: 0o600 }));
    size = fs.statSync(file).size;
  }
  await reading;
  return size;
}

/** Passes bytes through until `maxBytes`, then fails the stream. */
function byteBound(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: string, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > maxBytes) callback(new Error(`more than ${maxBytes} bytes`));
      else callback(null, chunk);
    },
  });
}
