import type Dockerode from 'dockerode';
import { LABEL } from './engine.js';

/** The unprivileged identity every agent runs as (the base image names it `agent`). */
export const AGENT_UID = 10001;

/** The user the task's sidecar runs as: not the agent's, so the agent can neither signal nor trace it. */
export const SIDECAR_UID = 10002;

/**
 * The user a display task's screen helpers (x11vnc, socat and their shell, started by Airlock
 * through an exec) run as: not the agent's, so the agent can neither signal, trace nor open the
 * file descriptors of what produces its live view and screenshots.
 */
export const SCREEN_UID = 10003;

/** A task's workspace: a volume backed by a tmpfs of a fixed size, held mounted by the sidecar. */
export interface WorkspacePlan {
  volume: string;
  /** The most the agent may write there; past it, writes fail with ENOSPC. */
  sizeBytes: number;
}

/** Files and folders a workspace may hold (tmpfs inodes): each costs the host kernel memory. */
export const WORKSPACE_MAX_INODES = 200_000;

export interface SandboxPlan {
  name: string;
  labels: Record<string, string>;
  image: string;
  command: string[] | undefined;
  workdir: string;
  /** Where the command starts, inside the workspace (a project's copy); default: workdir, the workspace's mount. */
  cwd?: string;
  env: Record<string, string>;
  workspace: WorkspacePlan;
  limits: { cpus: number; memoryBytes: number; pids: number };
  /**
   * The task's sidecar: the agent joins its network namespace (loopback only) and PID namespace.
   * Every task has one; only tests and benchmarks of the screen run a bare container without it
   * (then: no network but loopback, a PID namespace of its own).
   */
  sidecar: string | undefined;
  /** A volume over /etc/ssl/certs, so the system bundle can also trust the task's CA. */
  certsVolume?: string;
  /**
   * Secrets for `env` delivery arrive on the agent's stdin and are exported by a tiny shell
   * wrapper just before it execs the command: they never appear in the container's configuration.
   */
  secretsOnStdin?: boolean;
  /**
   * A pooled sandbox (tasks/pool.ts): started before any task is known, it runs POOL_LAUNCHER,
   * which waits on stdin for the command and environment of the task that claims it.
   */
  launcher?: boolean;
  /** A display task: its screen, window manager and browser keep their state in /tmp too. */
  display?: boolean;
  /**
   * An interactive session (`run -it`): the agent gets a pseudo-terminal, and stdin stays open for
   * the person's keys (not StdinOnce: a watcher going does not close it). Never with secretsOnStdin.
   */
  terminal?: { cols: number; rows: number };
  /**
   * Paths the image declares as VOLUMEs: each gets a tmpfs of the workspace's size instead of an
   * anonymous volume on the host's disk (which no limit would bound, and which would outlive the task).
   */
  imageVolumes?: string[];
}

/** Reads NAME=base64 lines until an empty line, exports them, then execs the agent's command. */
export const ENV_SECRETS_WRAPPER = 'while IFS= read -r line && [ -n "$line" ]; do export "${line%%=*}=$(printf %s "${line#*=}" | base64 -d)"; done; exec "$@"';

/**
 * An interactive session's program starts with its terminal's size set (an engine older than API
 * 1.42 ignores the size given at creation, and a resize can only follow the start).
 */
export const TERMINAL_SIZE_WRAPPER = 'stty rows "$1" cols "$2" 2>/dev/null; shift 2; exec "$@"';

/**
 * A pooled sandbox's only process until a task claims it: reads NAME=base64 lines until an empty
 * line and exports them, then base64 argument lines until an empty line, then execs them (nothing
 * given: exits). `x` keeps a value's trailing newlines from being cut by the command substitution.
 */
export const POOL_LAUNCHER = 'd() { v=$(printf %s "$1" | base64 -d; echo x); v=${v%x}; }; '
  + 'while IFS= read -r line && [ -n "$line" ]; do d "${line#*=}"; export "${line%%=*}=$v"; done; set --; '
  + 'while IFS= read -r line && [ -n "$line" ]; do d "$line"; set -- "$@" "$v"; done; [ $# -gt 0 ] || exit 0; exec "$@"';

/**
 * The container every task runs in (DESIGN.md, "Sandbox defaults"). Nothing here is taken from
 * the manifest except the limits, which the manifest can set but never remove.
 */
export function sandboxContainerOptions(plan: SandboxPlan): Dockerode.ContainerCreateOptions {
  const tty = plan.terminal !== undefined;
  const stdin = plan.secretsOnStdin === true || plan.launcher === true || tty;
  return {
    name: plan.name,
    Image: plan.image,
    ...(plan.launcher ? { Cmd: ['sh', '-c', POOL_LAUNCHER, 'airlock-launch'] }
      : plan.secretsOnStdin && plan.command ? { Cmd: ['sh', '-c', ENV_SECRETS_WRAPPER, 'airlock-env', ...plan.command] }
      : plan.terminal && plan.command ? { Cmd: ['sh', '-c', TERMINAL_SIZE_WRAPPER, 'airlock-tty', String(plan.terminal.rows), String(plan.terminal.cols), ...plan.command] }
      : plan.command ? { Cmd: plan.command } : {}),
    WorkingDir: plan.cwd ?? plan.workdir,
    User: `${AGENT_UID}:${AGENT_UID}`,
    Env: Object.entries({ HOME: '/tmp', ...plan.env }).map(([k, v]) => `${k}=${v}`),
    Labels: plan.labels,
    AttachStdin: stdin,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: stdin,
    StdinOnce: stdin && !tty,
    Tty: tty,
    HostConfig: {
      ...hardenedHostConfig(plan.limits),
      // [rows, cols]: engines older than API 1.42 ignore it; the runner resizes once it starts.
      ...(plan.terminal ? { ConsoleSize: [plan.terminal.rows, plan.terminal.cols] } : {}),
      // In the sidecar's PID namespace, PID 1 is the sidecar's init (it reaps the agent's orphans);
      // the engine gives a container that shares a PID namespace no init of its own.
      Init: plan.sidecar === undefined,
      // HOME is /tmp: tools that write caches (npm, pip, git) need a writable home. `exec`, as the
      // engine would otherwise add noexec: npx, a venv and `npm install -g` run what they put in
      // HOME, and the workspace is executable anyway, so noexec here would stop nothing.
      Tmpfs: {
        ...Object.fromEntries((plan.imageVolumes ?? []).filter((p) => !isWithin(p, plan.workdir) && !isWithin(p, '/tmp'))
          .map((p) => [p, `rw,nosuid,nodev,size=${plan.workspace.sizeBytes},mode=1777`])),
        '/tmp': `rw,exec,nosuid,nodev,size=${plan.display ? '768m' : '256m'},mode=1777`,
      },
      Mounts: [
        workspaceMount(plan.workspace, plan.workdir, plan.labels, false),
        // Created from the image's own /etc/ssl/certs (the engine copies it in), then given the task's CA.
        ...(plan.certsVolume ? [{ Type: 'volume' as const, Source: plan.certsVolume, Target: '/etc/ssl/certs', ReadOnly: false, VolumeOptions: { NoCopy: false, Labels: plan.labels, DriverConfig: { Name: 'local', Options: {} } } }] : []),
      ],
      // The sidecar's namespaces: its network has loopback only (and, for allowlist and open
      // networks, its relay to the gateway); its PID 1 is the task's life: when the sidecar exits,
      // the kernel kills every process of the agent. (NetworkDisabled is not used: it also empties
      // /etc/hosts, so `localhost` would not resolve for the agent's own local servers.)
      NetworkMode: plan.sidecar ? `container:${plan.sidecar}` : 'none',
      ...(plan.sidecar ? { PidMode: `container:${plan.sidecar}` } : {}),
      ShmSize: 64 * 1024 * 1024,
    },
  };
}

/** What every container Airlock starts gets, whatever else it is given. */
function hardenedHostConfig(limits: { cpus: number; memoryBytes: number; pids: number }): Dockerode.HostConfig {
  return {
    CapDrop: ['ALL'],
    CapAdd: [],
    SecurityOpt: ['no-new-privileges:true'],
    Privileged: false,
    ReadonlyRootfs: true,
    Init: true,
    PidsLimit: limits.pids,
    Memory: limits.memoryBytes,
    MemorySwap: limits.memoryBytes,
    NanoCpus: Math.round(limits.cpus * 1e9),
    IpcMode: 'private',
    UsernsMode: '',
    Devices: [],
    DeviceRequests: [],
    // The action log is the record: no second copy of a possibly huge output in the engine's log files.
    LogConfig: { Type: 'none', Config: {} },
    AutoRemove: false,
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
  };
}

export function sandboxLabels(task: string, agent: { name: string; digest: string }, owner: string): Record<string, string> {
  return { [LABEL.task]: task, [LABEL.agent]: agent.name, [LABEL.digest]: agent.digest, [LABEL.owner]: owner };
}

/**
 * The workspace volume: a tmpfs of the task's disk size (and a bounded number of files), created by
 * the engine with the first container that mounts it — the sidecar, which keeps it mounted while
 * the task lives, so Airlock can copy inputs in before the agent starts and outputs out after it
 * exits. Owned by the agent; nosuid, nodev.
 */
function workspaceMount(workspace: WorkspacePlan, target: string, labels: Record<string, string>, readOnly: boolean): Dockerode.MountSettings {
  const tmpfs = `size=${workspace.sizeBytes},nr_inodes=${WORKSPACE_MAX_INODES},uid=${AGENT_UID},gid=${AGENT_UID},mode=0755,nosuid,nodev`;
  return {
    Type: 'volume', Source: workspace.volume, Target: target, ReadOnly: readOnly,
    VolumeOptions: { NoCopy: readOnly, Labels: labels, DriverConfig: { Name: 'local', Options: { type: 'tmpfs', device: 'tmpfs', o: tmpfs } } },
  };
}

/** A task's sidecar: its program (sidecar.cjs's source and config) and the workspace it holds mounted. */
export interface SidecarPlan {
  name: string;
  labels: Record<string, string>;
  image: string;
  source: string;
  config: Record<string, unknown>;
  workspace: WorkspacePlan;
  workdir: string;
}

/**
 * A task's sidecar (assets/sidecar/sidecar.cjs): the first container of every task, whose network
 * and PID namespaces the agent's container joins. It runs as SIDECAR_UID (the agent cannot signal
 * or trace it) under the same hardening as an agent, with no network but loopback, and exits — and
 * with it every process of the task — when Airlock's attach stream ends (StdinOnce: a crashed or
 * killed Airlock closes it) or the task's deadline passes. It removes itself when it exits.
 * It mounts the workspace read-only (keeping its tmpfs mounted, and watching how full it is).
 */
export function sidecarContainerOptions(plan: SidecarPlan): Dockerode.ContainerCreateOptions {
  return {
    name: plan.name,
    Image: plan.image,
    Cmd: ['node', '-e', plan.source, JSON.stringify(plan.config)],
    User: `${SIDECAR_UID}:${SIDECAR_UID}`,
    Env: ['HOME=/tmp'],
    Labels: { ...plan.labels, [ROLE_LABEL]: 'sidecar' },
    Hostname: 'sandbox',
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: true,
    Tty: false,
    HostConfig: {
      ...hardenedHostConfig({ cpus: 1, memoryBytes: 128 * 1024 * 1024, pids: 32 }),
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,noexec,size=16m,mode=1777' },
      Mounts: [workspaceMount(plan.workspace, plan.workdir, plan.labels, true)],
      NetworkMode: 'none',
      // Gone by itself once it exits (a crashed Airlock leaves only the agent's stopped container).
      AutoRemove: true,
    },
  };
}

/** A one-shot helper container of a task (changes/branch-bundle.ts): the agent's user, no network, a volume of its own at `workdir`. */
export interface JobPlan {
  labels: Record<string, string>;
  image: string;
  command: string[];
  env: string[];
  workdir: string;
  volume: string;
  limits: { cpus: number; memoryBytes: number; pids: number };
}

/** A job's container: hardened as a sandbox, without even loopback's use (NetworkDisabled), a small noexec /tmp. */
export function jobContainerOptions(plan: JobPlan): Dockerode.ContainerCreateOptions {
  return {
    Image: plan.image,
    Cmd: plan.command,
    User: `${AGENT_UID}:${AGENT_UID}`,
    WorkingDir: plan.workdir,
    Env: plan.env,
    Labels: plan.labels,
    NetworkDisabled: true,
    HostConfig: {
      ...hardenedHostConfig(plan.limits),
      NetworkMode: 'none',
      Tmpfs: { '/tmp': 'rw,noexec,nosuid,nodev,size=64m,mode=1777' },
      Mounts: [{ Type: 'volume', Source: plan.volume, Target: plan.workdir, ReadOnly: false }],
    },
  };
}

/** Marks a task's sidecar among its containers (the agent's has no role). */
export const ROLE_LABEL = 'airlock.role';

/** Is `child` the folder `parent` or inside it (container paths)? */
function isWithin(child: string, parent: string): boolean {
  const normal = (p: string) => p.replace(/\/+$/, '') || '/';
  const c = normal(child);
  const q = normal(parent);
  return c === q || c.startsWith(`${q === '/' ? '' : q}/`);
}
