import { Entry } from '@napi-rs/keyring';

export interface KeychainStatus {
  ok: boolean;
  backend: string;
  message: string;
  fix?: string;
}

/** Where secrets live; the OS keychain in production. */
export interface SecretStore {
  get(account: string): string | null;
  set(account: string, secret: string): void;
  delete(account: string): boolean;
}

/** The OS keychain (Secret Service, macOS Keychain, Windows Credential Manager); never a plaintext fallback. */
export class Keychain implements SecretStore {
  readonly service: string;

  constructor(service = 'airlock') {
    this.service = service;
  }

  get(account: string): string | null {
    return new Entry(this.service, account).getPassword();
  }

  set(account: string, secret: string): void {
    new Entry(this.service, account).setPassword(secret);
  }

  delete(account: string): boolean {
    return new Entry(this.service, account).deletePassword();
  }

  /** Writes, reads back and deletes a throwaway entry, so "ok" means the keychain really works. */
  probe(platform: NodeJS.Platform = process.platform): KeychainStatus {
    const backend = platform === 'darwin' ? 'macOS Keychain' : platform === 'win32' ? 'Windows Credential Manager' : 'Secret Service';
    const account = `airlock-probe-${process.pid}-${Date.now()}`;
    try {
      this.set(account, 'probe');
      const back = this.get(account);
      this.delete(account);
      if (back !== 'probe') throw new Error('read back a different value');
      return { ok: true, backend, message: `${backend} is available` };
    } catch (error) {
      return {
        ok: false,
        backend,
        message: `${backend} is not available: ${(error as Error).message}`,
        fix: platform === 'linux'
          ? 'install and unlock a Secret Service provider, e.g. `apt-get install gnome-keyring dbus` and run inside a D-Bus session with the keyring unlocked'
          : 'unlock your login keychain',
      };
    }
  }
}
