import { Entry } from '@napi-rs/keyring';
import { useKeychainSession } from './keychain-session.js';

/** Which store holds the secrets: the shared names of DoctorReport's `keychain.store`. */
export type KeychainStoreKind = 'secret-service' | 'airlock-secret-service' | 'kernel-keyring' | 'macos-keychain' | 'windows-credential-manager' | 'none';

export interface KeychainStatus {
  ok: boolean;
  backend: string;
  /** The store in use; `none` when there is no usable one (never a silent fallback). */
  store: KeychainStoreKind;
  /** Whether what is stored survives a reboot. */
  persistent: boolean;
  message: string;
  fix?: string;
}

/** Where secrets live; the OS keychain in production. */
export interface SecretStore {
  get(account: string): string | null;
  set(account: string, secret: string): void;
  delete(account: string): boolean;
}

export interface KeychainOptions {
  service?: string;
  platform?: NodeJS.Platform;
  /** Where AIRLOCK_HOME is: its private Secret Service session (`airlock keychain start`) is used when the environment has no session bus. */
  home?: string;
  /** The process's environment: libdbus reads the bus address from it, so the private session's address is put there. */
  env?: NodeJS.ProcessEnv;
}

const START_HINT = 'start Airlock\'s own keyring for this boot: `airlock keychain start` (a passphrase you type once per boot; the keyring file stays encrypted with it)';

/**
 * The OS keychain (Secret Service, macOS Keychain, Windows Credential Manager); never a plaintext
 * fallback. On Linux entries are pinned to the Secret Service: @napi-rs/keyring would otherwise
 * fall back silently to the kernel keyring, which a reboot empties (the trail's signing key and
 * every credential gone) and which only the processes of one login session can read.
 */
export class Keychain implements SecretStore {
  readonly service: string;
  readonly #platform: NodeJS.Platform;
  readonly #home: string | undefined;
  readonly #env: NodeJS.ProcessEnv;
  /** Whether the session bus in use is Airlock's own, decided once before the first call (libdbus keeps it). */
  #private: boolean | undefined;

  constructor(options: KeychainOptions | string = {}) {
    const opts = typeof options === 'string' ? { service: options } : options;
    this.service = opts.service ?? 'airlock';
    this.#platform = opts.platform ?? process.platform;
    this.#home = opts.home;
    this.#env = opts.env ?? process.env;
  }

  get(account: string): string | null {
    return this.#entry(account).getPassword();
  }

  set(account: string, secret: string): void {
    this.#entry(account).setPassword(secret);
  }

  delete(account: string): boolean {
    return this.#entry(account).deletePassword();
  }

  #entry(account: string): Entry {
    this.#connect();
    return new Entry(this.service, account, this.#platform === 'linux' ? { linux: { store: 'secret-service' } } : undefined);
  }

  /** On Linux without a session bus, Airlock's own session (when started) becomes the process's bus. */
  #connect(): boolean {
    if (this.#private === undefined) this.#private = this.#platform === 'linux' && this.#home !== undefined && useKeychainSession(this.#home, this.#env);
    return this.#private;
  }

  /** Writes, reads back and deletes a throwaway entry, so "ok" means the keychain really works. */
  probe(): KeychainStatus {
    const linux = this.#platform === 'linux';
    const usesPrivate = this.#connect();
    const store: KeychainStoreKind = this.#platform === 'darwin' ? 'macos-keychain' : this.#platform === 'win32' ? 'windows-credential-manager'
      : usesPrivate ? 'airlock-secret-service' : 'secret-service';
    const backend = store === 'macos-keychain' ? 'macOS Keychain' : store === 'windows-credential-manager' ? 'Windows Credential Manager'
      : usesPrivate ? 'Secret Service (Airlock\'s keyring, `airlock keychain start`)' : 'Secret Service';
    const account = `airlock-probe-${process.pid}-${Date.now()}`;
    try {
      this.set(account, 'probe');
      const back = this.get(account);
      this.delete(account);
      if (back !== 'probe') throw new Error('read back a different value');
      return { ok: true, backend, store, persistent: true, message: `${backend} is available; what it keeps survives a reboot` };
    } catch (error) {
      const noBus = linux && !usesPrivate && !this.#env.DBUS_SESSION_BUS_ADDRESS;
      return {
        ok: false, backend, store: 'none', persistent: false,
        message: noBus
          ? 'no Secret Service: this session has no D-Bus session bus (a server, an SSH session, CI); Airlock does not use the kernel keyring, which a reboot empties'
          : `${backend} is not available: ${oneLine((error as Error).message)}`,
        fix: !linux ? 'unlock your login keychain'
          : noBus || usesPrivate ? START_HINT
            : 'unlock the keyring of your desktop session (or install a Secret Service provider: `apt-get install gnome-keyring dbus`); without a desktop, unset DBUS_SESSION_BUS_ADDRESS and run `airlock keychain start`',
      };
    }
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
