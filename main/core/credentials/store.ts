import path from 'node:path';
import { z } from 'zod';
import { AirlockError } from '../errors.js';
import { parseHostPattern } from '../host-pattern.js';
import { StateFile, type StateFileFormat } from '../state-file.js';
import { checkInjection, DEFAULT_INJECTION, injectionSchema, type Injection } from './injection.js';
import type { SecretStore } from './keychain.js';

/** What Airlock keeps about a credential outside the keychain. Never the secret. */
export interface CredentialInfo {
  name: string;
  description?: string;
  /** Hosts a grant of it may be used with (`api.vendor.test`, `*.vendor.test`, `host:8443`). */
  hosts: string[];
  /** How the secret goes into a request: a header template, a query parameter or Basic. */
  inject: Injection;
  maxTtlMs: number;
  createdAt: string;
}

const common = {
  name: z.string(),
  description: z.string().optional(),
  hosts: z.array(z.string()).min(1),
  maxTtlMs: z.number().int().positive(),
  createdAt: z.string(),
};
/** Version 1 kept a header template as `header`; version 2 keeps any injection as `inject`. */
const infoV1 = z.strictObject({ ...common, header: z.string() })
  .transform(({ header, ...rest }): CredentialInfo => ({ ...rest, inject: { kind: 'header', template: header } }));
const infoV2 = z.strictObject({ ...common, inject: injectionSchema });
const credentialsFile: StateFileFormat<CredentialInfo[]> = {
  holds: 'the credential list',
  recover: 'add the credentials again with `airlock cred add` (their secrets are still in the keychain, and are replaced)',
  version: 2,
  readers: {
    1: z.strictObject({ v: z.literal(1), credentials: z.array(infoV1) }).transform((file) => file.credentials),
    2: z.strictObject({ v: z.literal(2), credentials: z.array(infoV2) }).transform((file) => file.credentials as CredentialInfo[]),
  },
  empty: () => [],
  encode: (credentials) => ({ credentials }),
};

export const DEFAULT_MAX_TTL_MS = 60 * 60_000;
/** A credential's name: 1-64 characters of a-z, 0-9 and -. */
export const CREDENTIAL_NAME = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
const NAME = CREDENTIAL_NAME;

/** What `add` takes: `inject`, or (as before injections) a header template; neither: Bearer. */
export interface CredentialAddition {
  name: string;
  secret: string;
  hosts: string[];
  inject?: Injection;
  header?: string;
  maxTtlMs?: number;
  description?: string;
}

const account = (name: string) => `credential:${name}`;

/**
 * Credentials: the secret in the OS keychain, the rest in AIRLOCK_HOME/credentials.json. Without
 * a keychain nothing is stored at all — there is no plaintext fallback.
 */
export class CredentialStore {
  readonly #file: StateFile<CredentialInfo[]>;
  readonly #keychain: SecretStore;

  constructor(home: string, keychain: SecretStore) {
    this.#file = new StateFile(path.join(home, 'credentials.json'), credentialsFile);
    this.#keychain = keychain;
  }

  list(): CredentialInfo[] {
    return this.#file.read();
  }

  get(name: string): CredentialInfo {
    const found = this.list().find((c) => c.name === name);
    if (!found) throw new AirlockError('not_found', `no credential named '${name}'`, 'see `airlock cred ls`, or add it with `airlock cred add`');
    return found;
  }

  add(input: CredentialAddition): CredentialInfo {
    const { hosts, inject } = checkCredentialInput(input);
    const info: CredentialInfo = {
      name: input.name, hosts: [...new Set(hosts)], inject, maxTtlMs: input.maxTtlMs ?? DEFAULT_MAX_TTL_MS, createdAt: new Date().toISOString(),
      ...(input.description ? { description: input.description } : {}),
    };
    this.list(); // a damaged list stops here, before the keychain is touched
    try {
      this.#keychain.set(account(input.name), input.secret);
    } catch (error) {
      throw new AirlockError('keychain_unavailable', `the OS keychain is not available: ${(error as Error).message}`,
        'on Linux install and unlock a Secret Service provider (e.g. `apt-get install gnome-keyring dbus`); Airlock never stores secrets in plain files');
    }
    // The keychain is written outside the file's lock (it may prompt); the list is changed under it.
    this.#file.update((current) => [...current.filter((c) => c.name !== input.name), info]);
    return info;
  }

  remove(name: string): void {
    this.get(name);
    this.#keychain.delete(account(name));
    this.#file.update((current) => current.filter((c) => c.name !== name));
  }

  /** The secret, for the gateway's substitution or an env grant; never logged, never sent to a UI. */
  secret(name: string): string {
    const value = this.#keychain.get(account(name));
    if (value === null) throw new AirlockError('not_found', `the keychain has no secret for credential '${name}'`, `add it again with \`airlock cred add ${name} …\``);
    return value;
  }
}

/**
 * A credential's name, secret, hosts and injection checked (hosts normalised: case, trailing dot,
 * IDN), each refusal naming the flag of `airlock cred add`. The CLI checks at its edge with this
 * too, so its messages are the store's.
 */
export function checkCredentialInput(input: Omit<CredentialAddition, 'maxTtlMs' | 'description'>): { hosts: string[]; inject: Injection } {
  if (!NAME.test(input.name)) throw new AirlockError('bad_argument', `name: '${input.name}' must be 1-64 characters of a-z, 0-9 and -`, 'e.g. vendor-api');
  if (input.secret.length === 0) throw new AirlockError('bad_argument', 'the secret is empty', 'pipe it on standard input: `printf %s "$TOKEN" | airlock cred add …`');
  if (input.hosts.length === 0) throw new AirlockError('bad_argument', '--host: at least one host is needed', 'e.g. --host api.vendor.test');
  // Stored normalised (case, trailing dot, IDN): `API.Vendor.test` is api.vendor.test wherever it is compared.
  const hosts = input.hosts.map((host) => {
    const pattern = parseHostPattern(host);
    if (!pattern) throw new AirlockError('bad_argument', `--host: '${host}' is not a host, *.domain or host:port`, 'e.g. --host api.vendor.test');
    return pattern.text;
  });
  if (input.inject && input.header !== undefined) throw new AirlockError('bad_argument', 'a header template and another injection were both given', 'give one of --header, --query, --basic');
  const inject = checkInjection(input.inject ?? (input.header !== undefined ? { kind: 'header', template: input.header } : DEFAULT_INJECTION));
  return { hosts, inject };
}
