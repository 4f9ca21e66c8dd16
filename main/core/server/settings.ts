/**
 * The environment an engine keeps for its whole life: where the Docker engine is, how the gateway
 * resolves and trusts remotes, the warm pool's size. A client whose environment says otherwise
 * must not be served silently by an engine started with another (a `DOCKER_HOST` pointing
 * elsewhere, a demo's pinned hosts): the engine tells its settings' digest in hello, and a client
 * treats a different one as it treats another build (connect.ts).
 */
import { createHash } from 'node:crypto';
import { currentContextName } from '../engine/docker-contexts.js';

/** The variables the core reads once, when an engine starts (the CLI's --context arrives as DOCKER_CONTEXT). */
export const ENGINE_SETTINGS = ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_CONFIG', 'DOCKER_TLS', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'AIRLOCK_GATEWAY_HOSTS', 'AIRLOCK_UPSTREAM_CA', 'NODE_EXTRA_CA_CERTS', 'NODE_USE_SYSTEM_CA', 'AIRLOCK_POOL_SIZE'] as const;

/**
 * A digest of those variables' values (unset and empty are the same), and of the context the
 * docker config names now: after `docker context use X` (or the app's switch) an idle engine
 * started on the old one is replaced.
 */
export function settingsDigest(env: NodeJS.ProcessEnv): string {
  const values: [string, string | null][] = ENGINE_SETTINGS.map((name) => [name, env[name]?.trim() || null]);
  values.push(['currentContext', configuredContext(env)]);
  return createHash('sha256').update(JSON.stringify(values)).digest('hex').slice(0, 16);
}

/** A config.json the engine could not read is the engine's error to report, not the digest's. */
function configuredContext(env: NodeJS.ProcessEnv): string | null {
  try {
    return currentContextName(env);
  } catch {
    return null;
  }
}
