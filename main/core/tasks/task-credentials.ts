import type { EventBus } from '../audit/bus.js';
import type { AgentRef } from '../audit/events.js';
import type { Clock } from '../clock.js';
import { grantHosts, TaskCredentials, type Grant, type GrantRequest } from './grants.js';
import type { CredentialStore } from '../credentials/store.js';
import { AirlockError } from '../errors.js';
import { buildPolicy } from '../gateway/policy.js';
import { hostPatternCovers, HTTPS_PORTS, parseHostPattern, WEB_PORTS } from '../host-pattern.js';
import { formatDuration } from '../policy/units.js';
import type { NetworkSpec } from './network-spec.js';

/** Where the sandbox finds the task's CA: the system bundle (a per-task volume over /etc/ssl/certs) and a file of its own. */
export const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
export const TASK_CA_FILE = '/etc/ssl/certs/airlock-task-ca.pem';

/**
 * Checks what a task asks for before anything is created: each credential exists, its TTL is
 * within the credential's maximum, and the network lets the task reach the credential's hosts.
 */
export function checkGrantRequests(requests: GrantRequest[], store: CredentialStore | undefined, network: NetworkSpec, source: string): void {
  if (requests.length === 0) return;
  if (!store) throw new AirlockError('internal', 'credentials were requested but this process has no credential store');
  for (const [i, request] of requests.entries()) {
    const field = `${source} credentials[${i}] (${request.credential})`;
    const info = store.get(request.credential);
    if (request.ttlMs !== undefined && request.ttlMs > info.maxTtlMs) {
      throw new AirlockError('policy_refused', `${field}: ttl ${formatDuration(request.ttlMs)} is longer than ${info.name}'s max TTL ${formatDuration(info.maxTtlMs)}`,
        `ask for ${formatDuration(info.maxTtlMs)} or less, or raise it: airlock cred add ${info.name} … --max-ttl <dur>`);
    }
    const hosts = grantHosts(request, info.hosts);
    if (network.mode === 'none') {
      throw new AirlockError('policy_refused', `${field}: the task's network is none, so ${hosts.join(', ')} cannot be reached with it`, `allow the hosts: network: { mode: allowlist, allow: [${hosts.join(', ')}] }`);
    }
    if (network.mode === 'allowlist' && request.delivery === 'proxy') {
      const policy = buildPolicy({ mode: 'allowlist', allow: network.allow, local: network.local, onUnknownHost: 'deny' });
      for (const host of hosts) {
        // Every host the credential names (all of a wildcard's subdomains) must be reachable, on its port.
        const pattern = parseHostPattern(host);
        const port = pattern?.port ?? 443;
        const local = pattern !== undefined && !pattern.wildcard && policy.local.some((rule) => rule.host === pattern.host && rule.port === port);
        if (!pattern || (!local && !policy.allow.some((rule) => hostPatternCovers(rule, WEB_PORTS, pattern, HTTPS_PORTS)))) {
          throw new AirlockError('policy_refused', `${field}: its host ${host} is not in network.allow`, `add "${host}" to network.allow (or to network.local, for a service on this machine), or run with --net allow:${host}`);
        }
      }
    }
  }
}

/** Opens a task's grants and says what its sandbox needs for them. */
export async function openTaskCredentials(options: {
  task: string; agent: AgentRef; requests: GrantRequest[]; store: CredentialStore | undefined; bus: EventBus; clock: Clock; onExpired: (grant: Grant) => void;
  caLifetimeMs?: number;
}): Promise<{ credentials: TaskCredentials; env: Record<string, string> }> {
  const credentials = await TaskCredentials.open(options);
  const env = await credentials.placeholderEnv();
  if (credentials.ca) {
    Object.assign(env, {
      SSL_CERT_FILE: CA_BUNDLE, CURL_CA_BUNDLE: CA_BUNDLE, REQUESTS_CA_BUNDLE: CA_BUNDLE, GIT_SSL_CAINFO: CA_BUNDLE,
      NODE_EXTRA_CA_CERTS: TASK_CA_FILE, AIRLOCK_TASK_CA: TASK_CA_FILE,
    });
  }
  return { credentials, env };
}
