/**
 * Whom a forwarder trusts to be its collector: Node's default CAs (bundled, plus
 * NODE_EXTRA_CA_CERTS, plus the system's when Node is told to use them) and the forwarder's
 * `caFile`. Verification is never off and the collector's name is always checked (Node's
 * checkServerIdentity against the URL's host).
 */
import { createHash, X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { readRegularFile } from '../engine/docker-tls.js';
import { AirlockError } from '../errors.js';

const CA_FILE_LIMIT = 1024 * 1024;

/**
 * The certificates of a `caFile` (PEM), read bounded: a regular file of at most 1 MiB, opened
 * without blocking (a FIFO or a device would hang or flood the engine). Each must parse.
 */
export function readCaFile(file: string): string[] {
  let pem: string;
  try {
    pem = readRegularFile(file, CA_FILE_LIMIT, 'a CA file');
  } catch (error) {
    const reason = error instanceof AirlockError ? error.message : `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
    throw new AirlockError('bad_argument', error instanceof AirlockError ? `caFile ${reason}` : `caFile ${file} ${reason}`, 'give caFile as the path of a PEM file (at most 1 MiB) holding the CA certificates that sign the collector\'s certificate');
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new AirlockError('bad_argument', `caFile ${file} holds no PEM certificate`, 'give a file with one or more "-----BEGIN CERTIFICATE-----" blocks');
  blocks.forEach((block, index) => {
    try {
      new X509Certificate(block);
    } catch {
      throw new AirlockError('bad_argument', `caFile ${file}: certificate ${index + 1} does not parse`, 'replace it with the CA certificate as PEM');
    }
  });
  return blocks;
}

/** The trusted CAs for one collector connection. */
export function collectorCas(caFile: string | undefined): string[] {
  const defaults = tls.getCACertificates('default');
  return caFile === undefined ? defaults : [...defaults, ...readCaFile(caFile)];
}

/** At most this many trust stores are kept (one per distinct caFile content in use). */
const MAX_TRUST_STORES = 16;
const trustStores = new Map<string, tls.SecureContext>();

/**
 * The trust store for a collector: building one from the default CAs (hundreds of certificates)
 * costs about 20 ms of CPU, once per batch when made per connection. It is made once per distinct
 * caFile content and reused; the file is read again for every connection, so a changed CA file is
 * trusted (and an unreadable one refused) from the next batch on. `minVersion` lives here: with a
 * prebuilt context Node ignores it on the connection.
 */
export function collectorTrustStore(caFile: string | undefined): tls.SecureContext {
  const extra = caFile === undefined ? [] : readCaFile(caFile);
  const key = createHash('sha256').update(extra.join('\n')).digest('hex');
  let store = trustStores.get(key);
  if (!store) {
    store = tls.createSecureContext({ ca: [...tls.getCACertificates('default'), ...extra], minVersion: 'TLSv1.2' });
    if (trustStores.size >= MAX_TRUST_STORES) trustStores.delete(trustStores.keys().next().value!);
    trustStores.set(key, store);
  }
  return store;
}

/** The TLS options every collector connection uses (https requests and syslog-tls sockets). */
export function collectorTlsOptions(host: string, caFile: string | undefined): tls.ConnectionOptions {
  return {
    secureContext: collectorTrustStore(caFile),
    rejectUnauthorized: true,
    // SNI only for names (RFC 6066); the certificate is checked against the host either way.
    ...(isIpLiteral(host) ? {} : { servername: host }),
    checkServerIdentity: tls.checkServerIdentity,
  };
}

function isIpLiteral(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}
