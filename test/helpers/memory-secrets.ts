import type { SecretStore } from '../../main/core/credentials/keychain.js';

/** A SecretStore in memory, for tests where the keychain is not what is under test. */
export class MemorySecrets implements SecretStore {
  readonly values = new Map<string, string>();
  get(account: string): string | null {
    return this.values.get(account) ?? null;
  }
  set(account: string, secret: string): void {
    this.values.set(account, secret);
  }
  delete(account: string): boolean {
    return this.values.delete(account);
  }
}
