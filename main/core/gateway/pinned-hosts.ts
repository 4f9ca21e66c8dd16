import fs from 'node:fs';
import { AirlockError } from '../errors.js';
import { defaultResolver, type Resolver } from './dialing.js';
import { pemCertificates } from './upstream-trust.js';

/**
 * `name=address[,name=address…]`: names the gateway resolves to fixed addresses before asking DNS,
 * like /etc/hosts for the sandboxes (AIRLOCK_GATEWAY_HOSTS). For pretend `.test` hosts served on
 * this machine (the demo's vendor API) and for services on a private network. A pinned name still
 * has to be allowed, and a private address still needs a `local` rule.
 */
export function parsePinnedHosts(text: string | undefined): Map<string, string> {
  const pins = new Map<string, string>();
  for (const entry of (text ?? '').split(',').map((e) => e.trim()).filter(Boolean)) {
    const [name, address] = entry.split('=');
    if (!name || !address) throw new AirlockError('bad_argument', `AIRLOCK_GATEWAY_HOSTS: '${entry}' is not name=address`, 'write e.g. AIRLOCK_GATEWAY_HOSTS=api.vendor.test=127.0.0.1');
    pins.set(name.toLowerCase(), address);
  }
  return pins;
}

export function pinnedResolver(pins: Map<string, string>, fallback: Resolver): Resolver {
  if (pins.size === 0) return fallback;
  return async (host) => {
    const pinned = pins.get(host);
    return pinned ? [pinned] : fallback(host);
  };
}

/**
 * The gateway settings a person can give through the environment, read the same way by the CLI and
 * the app: AIRLOCK_GATEWAY_HOSTS (names pinned to addresses) and AIRLOCK_UPSTREAM_CA (a PEM file of
 * more CAs to trust upstream, e.g. a company TLS proxy's or a local test server's), besides what
 * Node trusts (NODE_EXTRA_CA_CERTS) and the OS store: see upstream-trust.ts.
 */
export function gatewayEnvironment(env: NodeJS.ProcessEnv = process.env): { resolve: Resolver; upstreamCa?: string; env: NodeJS.ProcessEnv } {
  const upstreamCa = env.AIRLOCK_UPSTREAM_CA ? readUpstreamCa(env.AIRLOCK_UPSTREAM_CA) : undefined;
  return { resolve: pinnedResolver(parsePinnedHosts(env.AIRLOCK_GATEWAY_HOSTS), defaultResolver), ...(upstreamCa ? { upstreamCa } : {}), env };
}

/** AIRLOCK_UPSTREAM_CA's file: one that cannot be read, or holds no certificate, is refused (a CA the person meant to trust is never silently dropped). */
function readUpstreamCa(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new AirlockError('bad_argument', `AIRLOCK_UPSTREAM_CA: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, 'point it at a PEM file of the CA to trust upstream, or unset it');
  }
  if (pemCertificates(text).length === 0) {
    throw new AirlockError('bad_argument', `AIRLOCK_UPSTREAM_CA: ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`, 'point it at a PEM file of the CA to trust upstream, or unset it');
  }
  return text;
}
