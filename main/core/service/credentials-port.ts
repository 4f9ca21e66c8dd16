import { AirlockError } from '../errors.js';
import type { CredentialInjection, CredentialInput, CredentialSummary } from './types.js';

/**
 * What the app needs of credentials. The credentials module (main/core/credentials) plugs in
 * through storeAsCredentialsPort; until then UnavailableCredentials says so on every call.
 */
export interface CredentialsPort {
  list(): Promise<CredentialSummary[]>;
  add(input: CredentialInput): Promise<void>;
  remove(name: string): Promise<void>;
}

export class UnavailableCredentials implements CredentialsPort {
  list(): Promise<CredentialSummary[]> {
    return Promise.reject(unavailable());
  }
  add(): Promise<void> {
    return Promise.reject(unavailable());
  }
  remove(): Promise<void> {
    return Promise.reject(unavailable());
  }
}

function unavailable(): AirlockError {
  return new AirlockError('not_found', 'credentials are not available yet in this version of Airlock',
    'lending credentials to tasks comes with the credentials update; until then give agents no secrets');
}

/** The shape of a credential store (main/core/credentials/store.ts): synchronous, may throw. */
export interface CredentialStoreLike {
  list(): { name: string; description?: string; hosts: string[]; inject: CredentialInjection; maxTtlMs: number }[];
  add(input: CredentialInput): unknown;
  remove(name: string): void;
}

/**
 * Adapts a store to the port. Every field is copied by name, so whatever else a store's record
 * holds (now or later) never reaches a UI.
 */
export function storeAsCredentialsPort(store: CredentialStoreLike): CredentialsPort {
  return {
    list: async () => store.list().map((c) => ({
      name: c.name, hosts: [...c.hosts], inject: { ...c.inject }, maxTtlMs: c.maxTtlMs,
      ...(c.description !== undefined ? { description: c.description } : {}),
    })),
    add: async (input) => {
      store.add(input);
    },
    remove: async (name) => store.remove(name),
  };
}
