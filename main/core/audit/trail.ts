import path from 'node:path';
import type { EventBus } from './bus.js';
import { keychainHeadSigner, type HeadSigner } from './head.js';
import { AuditStore } from './store.js';
import type { SecretStore } from '../credentials/keychain.js';
import { AirlockError } from '../errors.js';

/** AIRLOCK_HOME/audit: segments/, head.json, the head's public key, torn/. */
export function auditDir(home: string): string {
  return path.join(home, 'audit');
}

/** The head-signing key from the keychain; no keychain means no audit trail, so no task runs. */
export function openHeadSigner(keychain: SecretStore): HeadSigner {
  try {
    return keychainHeadSigner(keychain);
  } catch (error) {
    throw new AirlockError('keychain_unavailable', `the OS keychain is not available, and the audit trail's signing key lives there: ${(error as Error).message}`,
      'on Linux install and unlock a Secret Service provider (e.g. `apt-get install gnome-keyring dbus`, then run inside a D-Bus session with the keyring unlocked); see `airlock doctor`',
      { cause: error });
  }
}

/** Every event on the bus goes into the audit trail. */
export function recordBusInTrail(bus: EventBus, store: AuditStore): () => void {
  return bus.subscribe((event) => {
    store.append(event);
  });
}
