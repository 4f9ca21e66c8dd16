import type { Duplex } from 'node:stream';
import type { JobPlan, SandboxPlan, SidecarPlan } from './hardening.js';

/**
 * What a task needs from an engine, and nothing else: its two containers (the agent's sandbox and
 * the sidecar whose network and PID namespaces it joins), bytes in and out of them, their streams,
 * freezing, usage, and finding and reaping by label what tasks left. The Docker backend
 * (docker-backend.ts) is the one there is; another (docs/kubernetes.md) is a new module behind this
 * interface. Image builds, the doctor's image checks and shadow-agent scans stay on dockerode: they
 * are about the Docker engine itself, not about running a task.
 *
 * Errors keep Docker's meaning, so callers decide the same way whatever the backend: an error with
 * `statusCode` 404 is "no such object", 409 "conflict" (not running, paused, removal under way);
 * an unreachable engine is an AirlockError `engine_unavailable`.
 */
export interface TaskBackend {
  /** e.g. `docker`: said in errors and docs, never branched on by callers. */
  readonly kind: string;
  /** The sidecar, created but not started (the sandbox joins its namespaces: it comes first). */
  createSidecar(plan: SidecarPlan): Promise<BackendContainer>;
  /** The agent's hardened container, created but not started. */
  createSandbox(plan: SandboxPlan): Promise<BackendContainer>;
  /** A one-shot helper of a task (the git bundle of its project), hardened and without a network; created, not started. */
  createJob(plan: JobPlan): Promise<BackendContainer>;
  /** A labelled volume for a job (a task's own volumes come with its containers, from their plans). */
  createVolume(name: string, labels: Record<string, string>): Promise<void>;
  /** A container by id or name, whether or not it exists (its calls say 404 if not). */
  container(idOrName: string): BackendContainer;
  /** What a task needs to know of an image (404: missing). */
  image(ref: string): Promise<ImageFacts>;
  /** Removes a volume; false if there was none. */
  removeVolume(name: string): Promise<boolean>;
  /** Every object labelled `airlock.task`, grouped by task: claims, until tasks/own-objects.ts vouches for them. */
  listTaskObjects(): Promise<TaskObjects[]>;
  /** Removes a task's objects (what is gone already is not counted); returns how many of each went. */
  removeTaskObjects(objects: TaskObjects): Promise<{ containers: number; volumes: number; networks: number }>;
}

/** One container of a task. */
export interface BackendContainer {
  readonly id: string;
  start(): Promise<void>;
  /**
   * The main process's output from now on (no logs), and its stdin when asked (then the stream is
   * hijacked: it stays open both ways). Without a TTY, stdout and stderr come in Docker's
   * multiplexed frames (docker-frames.ts): a backend with other framing converts to it.
   */
  attach(options: { stdin: boolean }): Promise<NodeJS.ReadWriteStream>;
  /** Starts a process beside the main one; its stdin, and its framed stdout/stderr, as one stream. */
  exec(request: ExecRequest): Promise<Duplex>;
  /** Extracts a tar archive into a folder of the container (owners and modes as written in it). */
  copyIn(folder: string, archive: NodeJS.ReadableStream, options?: { noOverwriteDirNonDir?: boolean }): Promise<void>;
  /** A path of the container as a tar archive; undefined if there is no such path. */
  copyOut(path: string): Promise<NodeJS.ReadableStream | undefined>;
  /** A TTY container's terminal size. */
  resize(size: { cols: number; rows: number }): Promise<void>;
  /** Freezes every process (cgroup freezer): nothing runs, nothing is lost. */
  pause(): Promise<void>;
  unpause(): Promise<void>;
  /** Sends a signal to the main process (default: SIGKILL). */
  kill(signal?: string): Promise<void>;
  /** Until the container stops (default) or is removed. */
  wait(until?: 'stopped' | 'removed'): Promise<void>;
  state(): Promise<ContainerState>;
  /** One usage reading, now (not streamed). */
  stats(): Promise<ContainerStats>;
  /** Removes it, killing it if it runs; `volumes`: its anonymous volumes too. */
  remove(options: { volumes: boolean }): Promise<void>;
}

export interface ExecRequest {
  command: string[];
  env: string[];
  workdir: string;
  /** `uid:gid` */
  user: string;
}

export interface ContainerState {
  running: boolean;
  paused: boolean;
  exitCode: number;
  oomKilled: boolean;
}

export interface ImageFacts {
  id: string;
  /** Its default command (CMD). */
  command: string[];
  /** Its ENTRYPOINT, empty when there is none. */
  entrypoint: string[];
  /** Paths it declares as VOLUMEs. */
  volumes: string[];
}

/** A usage reading, in the shape of Docker's stats (a backend with other metrics maps them to it). */
export interface ContainerStats {
  cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] }; system_cpu_usage?: number; online_cpus?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
}

/** The engine objects labelled as one task's (its claim, until tasks/own-objects.ts vouches for it). */
export interface TaskObjects {
  task: string;
  agent: string;
  digest: string;
  owner: string | undefined;
  /** The agent's container and its sidecar (role `sidecar`), if they still exist. */
  containers: { id: string; name: string; image: string; state: string; status: string; created: number; role: string | undefined }[];
  volumes: string[];
  networks: string[];
  /** When the engine made the oldest of these objects (Unix seconds; undefined if it does not say). */
  created: number | undefined;
}
