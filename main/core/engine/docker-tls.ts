/**
 * The TLS material for a `tcp://` engine, read from files the way the docker CLI names them
 * (ca.pem, cert.pem, key.pem) and handed to dockerode explicitly: docker-modem would otherwise read
 * DOCKER_CERT_PATH from the process environment, which is not the engine's settings in-process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AirlockError } from '../errors.js';

export interface TlsMaterial {
  ca?: string;
  cert?: string;
  key?: string;
}

/**
 * DOCKER_TLS_VERIFY (any non-empty value, as the docker CLI reads it) asks for a verified TLS
 * connection with the files in DOCKER_CERT_PATH (default: the docker config folder). A missing
 * file is refused here, naming it, rather than connecting without verification.
 */
export function tlsFromEnv(env: NodeJS.ProcessEnv, configDir: string): TlsMaterial | undefined {
  if (!env.DOCKER_TLS_VERIFY?.trim()) {
    // The docker CLI's DOCKER_TLS alone is TLS without checking the engine: asked for, refused, never plain HTTP instead.
    if (env.DOCKER_TLS?.trim()) throw new AirlockError('engine_unavailable', 'DOCKER_TLS asks for TLS without verifying the engine, which Airlock does not do', 'set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the folder holding the engine\'s ca.pem and your cert.pem and key.pem');
    return undefined;
  }
  const dir = env.DOCKER_CERT_PATH?.trim() || configDir;
  // The engine process outlives the shell that set it, and serves clients started elsewhere.
  if (!path.isAbsolute(dir)) throw new AirlockError('engine_unavailable', `DOCKER_CERT_PATH ${JSON.stringify(dir)} is not an absolute path`, `give the full path: DOCKER_CERT_PATH="$(realpath ${dir})"`);
  const material = readTlsFolder(dir);
  for (const name of ['ca', 'cert', 'key'] as const) {
    if (material[name] === undefined) {
      throw new AirlockError('engine_unavailable', `DOCKER_TLS_VERIFY is set but ${path.join(dir, `${name}.pem`)} does not exist`, 'set DOCKER_CERT_PATH to the folder holding ca.pem, cert.pem and key.pem, or unset DOCKER_TLS_VERIFY for a plain tcp:// engine');
    }
  }
  return material;
}

/** Whichever of ca.pem, cert.pem and key.pem the folder holds (a context's TLS folder may hold only ca.pem). */
export function readTlsFolder(dir: string): TlsMaterial {
  const read = (name: string): string | undefined => {
    try {
      return readRegularFile(path.join(dir, `${name}.pem`), PEM_LIMIT, 'a certificate file');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      if (error instanceof AirlockError) throw error;
      throw new AirlockError('engine_unavailable', `cannot read ${path.join(dir, `${name}.pem`)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'make the certificate files readable by you');
    }
  };
  const material: TlsMaterial = { ca: read('ca'), cert: read('cert'), key: read('key') };
  if ((material.cert === undefined) !== (material.key === undefined)) {
    throw new AirlockError('engine_unavailable', `${dir} holds a client ${material.cert ? 'certificate without its key' : 'key without its certificate'}`, 'put both cert.pem and key.pem there, or neither');
  }
  return material;
}

const PEM_LIMIT = 1024 * 1024;

/**
 * A file's text when it is a regular file of at most `limit` bytes. Opened without blocking and
 * checked before reading: a FIFO would hang the engine's start for good, /dev/zero fill its memory.
 */
export function readRegularFile(file: string, limit: number, what: string): string {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new AirlockError('engine_unavailable', `${file} is not a regular file`, 'replace it with the file itself');
    if (stat.size > limit) throw new AirlockError('engine_unavailable', `${file} is larger than ${what} can be`, 'check what wrote it');
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

export function hasTls(material: TlsMaterial | undefined): material is TlsMaterial {
  return material !== undefined && (material.ca !== undefined || material.cert !== undefined);
}

/** OpenSSL's verification codes and Node's TLS errors: the engine's identity was not proven, or ours was refused. */
const VERIFY_CODES = /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_[A-Z_]+|ERR_TLS_CERT_ALTNAME_INVALID)$/;

export function isTlsError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  return VERIFY_CODES.test(code) || code.startsWith('ERR_SSL_') || code === 'EPROTO';
}

/** What a TLS failure means for a person, and what fixes it; undefined when it is not one. */
export function tlsFailure(error: unknown): { reason: string; fix: string } | undefined {
  if (!isTlsError(error)) return undefined;
  const code = (error as NodeJS.ErrnoException).code!;
  if (VERIFY_CODES.test(code)) {
    return {
      reason: `its TLS certificate is not one the CA you gave signed for that name (${code}); Airlock does not connect unverified`,
      fix: 'put the CA that signed the engine\'s certificate in ca.pem (DOCKER_CERT_PATH, or the context\'s TLS files), and connect by a name its certificate holds',
    };
  }
  return {
    reason: `the TLS handshake failed (${code}: ${(error as Error).message.split('\n')[0]!.slice(0, 160)})`,
    fix: 'check that the engine listens with TLS and accepts your client certificate (cert.pem and key.pem)',
  };
}
