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
}

/**
 * The container every task runs in (DESIGN.md, "Sandbox defaults"). Nothing here is taken from
 * the manifest except the limits, which the manifest can set but never remove.
 */
export function sandboxContainerOptions(plan: SandboxPlan): Dockerode.ContainerCreateOptions {
  return {
    name: plan.name,
    Image: plan.image,
    ...(plan.command ? { Cmd: plan.command } : {}),
    WorkingDir: plan.workdir,
    User: `${AGENT_UID}:${AGENT_UID}`,
    Env: Object.entries({ HOME: '/tmp', ...plan.env }).map(([k, v]) => `${k}=${v}`),
    Labels: plan.labels,
    Hostname: 'sandbox',
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: false,
    Tty: false,
    HostConfig: {
      CapDrop: ['ALL'],
      CapAdd: [],
      SecurityOpt: ['no-new-privileges:true'],
      Privileged: false,
      ReadonlyRootfs: true,
      // HOME is /tmp: tools that write caches (npm, pip, git) need a writable home.
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=256m,mode=1777' },
      // The engine creates the named volume with the container (one call fewer), labelled for the reaper.
      Mounts: [{ Type: 'volume', Source: plan.workspaceVolume, Target: plan.workdir, ReadOnly: false, VolumeOptions: { NoCopy: false, Labels: plan.labels, DriverConfig: { Name: 'local', Options: {} } } }],
      Init: true,
      PidsLimit: plan.limits.pids,
      Memory: plan.limits.memoryBytes,
      MemorySwap: plan.limits.memoryBytes,
      NanoCpus: Math.round(plan.limits.cpus * 1e9),
      // 'none' leaves loopback only; NetworkDisabled is not set because it also empties /etc/hosts,
      // so `localhost` would not resolve for the agent's own local servers.
      NetworkMode: 'none',
      IpcMode: 'private',
      PidMode: '',
      UsernsMode: '',
      Devices: [],
      DeviceRequests: [],
      // The action log is the record: no second copy of a possibly huge output in the engine's log files.
      LogConfig: { Type: 'none', Config: {} },
      AutoRemove: false,
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      ShmSize: 64 * 1024 * 1024,
    },
  };
}

export function sandboxLabels(task: string, agent: { name: string; digest: string }, owner: string): Record<string, string> {
  return { [LABEL.task]: task, [LABEL.agent]: agent.name, [LABEL.digest]: agent.digest, [LABEL.owner]: owner };
}
