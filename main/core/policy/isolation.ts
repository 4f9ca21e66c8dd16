import { AirlockError } from '../errors.js';

/**
 * Fields people copy from docker-compose or `docker run` that would loosen the sandbox. They are
 * refused by name, with the reason, before anything is created — not merely as "unknown field".
 */
const LOOSENING_FIELDS: Record<string, string> = {
  privileged: 'Airlock never runs a privileged container',
  cap_add: 'every capability is dropped; none can be added',
  capAdd: 'every capability is dropped; none can be added',
  capabilities: 'every capability is dropped; none can be added',
  devices: 'no host device is passed into a sandbox',
  volumes: 'no host path is mounted; declare `inputs` to copy files in',
  mounts: 'no host path is mounted; declare `inputs` to copy files in',
  binds: 'no host path is mounted; declare `inputs` to copy files in',
  pid: 'the sandbox never shares the host PID namespace',
  ipc: 'the sandbox never shares the host IPC namespace',
  uts: 'the sandbox never shares the host UTS namespace',
  userns: 'the sandbox never shares the host user namespace',
  network_mode: 'the network is chosen with network.mode: none | allowlist | open',
  hostNetwork: 'the sandbox never shares the host network namespace',
  security_opt: 'seccomp, no-new-privileges and the other protections cannot be turned off',
  securityOpt: 'seccomp, no-new-privileges and the other protections cannot be turned off',
  user: 'agents always run as the unprivileged user 10001',
  dockerSocket: 'the Docker socket is never given to an agent',
  readOnly: 'the root filesystem is always read-only',
  read_only: 'the root filesystem is always read-only',
};

export function refuseLooserIsolation(raw: Record<string, unknown>, source: string): void {
  const refuse = (field: string, why: string) => {
    throw new AirlockError('policy_refused', `${source}: ${field}: refused: ${why}`, `remove \`${field}\` from the manifest`);
  };
  for (const [field, why] of Object.entries(LOOSENING_FIELDS)) {
    if (field in raw) refuse(field, why);
    const resources = raw.resources;
    if (resources && typeof resources === 'object' && field in resources) refuse(`resources.${field}`, why);
  }
  const network = raw.network;
  if (network && typeof network === 'object' && (network as Record<string, unknown>).mode === 'host') {
    refuse('network.mode', 'the sandbox never shares the host network; use none, allowlist or open');
  }
}
