import type Dockerode from 'dockerode';
import { LABEL } from './engine.js';

/** The unprivileged identity every agent runs as (the base image names it `agent`). */
export const AGENT_UID = 10001;

export interface SandboxPlan {
  name: string;
  labels: Record<string, string>;
  image: string;
  command: string[] | undefined;
  workdir: string;
  env: Record<string, string>;
  workspaceVolume: string;
  limits: { cpus: number; memoryBytes: number; pids: number };
  /** `none`: loopback only. `container`: the network namespace of the task's gateway endpoint (also loopback only). */
  network: { mode: 'none' } | { mode: 'container'; container: string };
  /** A volume over /etc/ssl/certs, so the system bundle can also trust the task's CA. */
  certsVolume?: string;
  /**
   * Secrets for `env` delivery arrive on the agent's stdin and are exported by a tiny shell
   * wrapper just before it execs the command: they never appear in the container's configuration.
   */
  secretsOnStdin?: boolean;
  /** A display task: its screen, window manager and browser keep their state in /tmp too. */
  display?: boolean;
}

/** Reads NAME=base64 lines until an empty line, exports them, then execs the agent's command. */
export const ENV_SECRETS_WRAPPER = 'while IFS= read -r line && [ -n "$line" ]; do export "${line%%=*}=$(printf %s "${line#*=}" | base64 -d)"; done; exec "$@"';

/**
 * The container every task runs in (DESIGN.md, "Sandbox defaults"). Nothing here is taken from
 * the manifest except the limits, which the manifest can set but never remove.
 */
export function sandboxContainerOptions(plan: SandboxPlan): Dockerode.ContainerCreateOptions {
  return {
    name: plan.name,
    Image: plan.image,
    ...(plan.secretsOnStdin && plan.command ? { Cmd: ['sh', '-c', ENV_SECRETS_WRAPPER, 'airlock-env', ...plan.command] } : plan.command ? { Cmd: plan.command } : {}),
    WorkingDir: plan.workdir,
    User: `${AGENT_UID}:${AGENT_UID}`,
    Env: Object.entries({ HOME: '/tmp', ...plan.env }).map(([k, v]) => `${k}=${v}`),
    Labels: plan.labels,
    // A container that joins another's network namespace takes that container's hostname too.
    ...(plan.network.mode === 'none' ? { Hostname: 'sandbox' } : {}),
    AttachStdin: plan.secretsOnStdin === true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: plan.secretsOnStdin === true,
    StdinOnce: plan.secretsOnStdin === true,
    Tty: false,
    HostConfig: {
      ...hardenedHostConfig(plan.limits),
      // HOME is /tmp: tools that write caches (npm, pip, git) need a writable home.
      Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${plan.display ? '768m' : '256m'},mode=1777` },
      // The engine creates the named volume with the container (one call fewer), labelled for the reaper.
      Mounts: [
        { Type: 'volume', Source: plan.workspaceVolume, Target: plan.workdir, ReadOnly: false, VolumeOptions: { NoCopy: false, Labels: plan.labels, DriverConfig: { Name: 'local', Options: {} } } },
        // Created from the image's own /etc/ssl/certs (the engine copies it in), then given the task's CA.
        ...(plan.certsVolume ? [{ Type: 'volume' as const, Source: plan.certsVolume, Target: '/etc/ssl/certs', ReadOnly: false, VolumeOptions: { NoCopy: false, Labels: plan.labels, DriverConfig: { Name: 'local', Options: {} } } }] : []),
      ],
      // 'none' leaves loopback only; NetworkDisabled is not set because it also empties /etc/hosts,
      // so `localhost` would not resolve for the agent's own local servers.
      NetworkMode: plan.network.mode === 'none' ? 'none' : `container:${plan.network.container}`,
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
    PidMode: '',
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
 * The task's gateway endpoint: the relay that carries the agent's connections to Airlock over the
 * engine's attach stream. Same hardening as an agent; no network but loopback, which the agent's
 * container joins. Its stdin stays open: that is where Airlock's side of the connections arrives.
 */
export function gatewayContainerOptions(plan: { name: string; labels: Record<string, string>; image: string; relaySource: string; port: number; browserPort?: number }): Dockerode.ContainerCreateOptions {
  return {
    name: plan.name,
    Image: plan.image,
    Cmd: ['node', '-e', plan.relaySource, String(plan.port), ...(plan.browserPort ? [String(plan.browserPort)] : [])],
    User: `${AGENT_UID}:${AGENT_UID}`,
    Env: ['HOME=/tmp'],
    Labels: { ...plan.labels, 'airlock.role': 'gateway' },
    Hostname: 'sandbox',
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: false,
    Tty: false,
    HostConfig: {
      ...hardenedHostConfig({ cpus: 1, memoryBytes: 128 * 1024 * 1024, pids: 32 }),
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,noexec,size=16m,mode=1777' },
      NetworkMode: 'none',
    },
  };
}
