// Which CAs the gateway trusts for TLS to the real hosts it intercepts. A company that inspects
// TLS installs its proxy's CA where the machine's other tools find it — the OS store, or a file
// named by NODE_EXTRA_CA_CERTS — so the gateway trusts what Node trusts, the OS store besides, and
// AIRLOCK_UPSTREAM_CA; an explicit list that left any of these out would break credentialed calls
// behind such a proxy (the calls that are not intercepted pass through untouched either way).
import fs from 'node:fs';
import tls from 'node:tls';

/** The parts of node:tls the trust list is built from (injected: tests give their own). */
export interface NodeTrustSources {
  /** Node >= 22.15 / 24: 'default' = bundled + NODE_EXTRA_CA_CERTS (+ the OS store with --use-system-ca). */
  getCACertificates?: (kind: 'default' | 'system' | 'bundled' | 'extra') => string[];
  /** Node's bundled Mozilla roots (older Node: the only list it offers). */
  rootCertificates: readonly string[];
}

export interface TrustInputs {
  /** The engine's environment as it started: NODE_EXTRA_CA_CERTS is read from it on older Node. */
  env: NodeJS.ProcessEnv;
  node?: NodeTrustSources;
  readFile?: (file: string) => string;
  /** AIRLOCK_UPSTREAM_CA's content: one PEM file, which may hold several certificates. */
  upstreamCa?: string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM text, each as its own PEM block. */
export function pemCertificates(text: string): string[] {
  return text.match(PEM_CERTIFICATE) ?? [];
}

/**
 * The CAs upstream TLS is verified against: Node's default set (its bundled roots and
 * NODE_EXTRA_CA_CERTS, and the OS store when Node was told to use it), the OS store in any case
 * where Node can read it, and every certificate in AIRLOCK_UPSTREAM_CA. Without
 * getCACertificates (Node before 22.15) NODE_EXTRA_CA_CERTS is read here; the OS store then is not.
 */
export function upstreamCaList(inputs: TrustInputs): string[] {
  const node = inputs.node ?? tls;
  const readFile = inputs.readFile ?? ((file: string) => fs.readFileSync(file, 'utf8'));
  const list: string[] = [];
  if (node.getCACertificates) {
    list.push(...node.getCACertificates('default'));
    list.push(...systemStore(node.getCACertificates));
  } else {
    list.push(...node.rootCertificates);
    const extra = inputs.env.NODE_EXTRA_CA_CERTS;
    // Node itself only warns when this file cannot be read; so does the gateway (it trusts the rest).
    if (extra) list.push(...readOptional(readFile, extra));
  }
  if (inputs.upstreamCa) list.push(...pemCertificates(inputs.upstreamCa));
  return [...new Set(list.map((pem) => pem.trim()))];
}

function systemStore(getCACertificates: NonNullable<NodeTrustSources['getCACertificates']>): string[] {
  try {
    return getCACertificates('system');
  } catch {
    return []; // a platform without a store Node can read
  }
}

function readOptional(readFile: (file: string) => string, file: string): string[] {
  try {
    return pemCertificates(readFile(file));
  } catch {
    return [];
  }
}

/** One secure context for all upstream connections: a list of hundreds of CAs is parsed once, not per connection. */
export function upstreamSecureContext(inputs: TrustInputs): tls.SecureContext {
  return tls.createSecureContext({ ca: upstreamCaList(inputs) });
}
