/**
 * Errors a user can act on. `message` says what is wrong (naming the field or rule), `hint` how to
 * fix it. The CLI prints them as one line and exits 125; the app shows them in its error envelope.
 */
export type AirlockErrorCode =
  | 'engine_unavailable'
  | 'image_missing'
  | 'image_build_failed'
  | 'bad_manifest'
  | 'policy_refused'
  | 'bad_argument'
  | 'not_found'
  | 'keychain_unavailable'
  /** A kit needs a credential that is not stored: the hint is the command that adds it. */
  | 'credential_missing'
  /** The audit trail cannot make a record durable (so what needed it did not happen). */
  | 'audit_unavailable'
  /** A state file in AIRLOCK_HOME is damaged (or from a newer Airlock): named, left as it is. */
  | 'state_damaged'
  | 'internal';

/** Marks an AirlockError whichever bundle made it (the CLI's client bundle and the engine bundle each have the class). */
const AIRLOCK_ERROR = Symbol.for('airlock.AirlockError');

export class AirlockError extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[AIRLOCK_ERROR] === true;
  }

  readonly [AIRLOCK_ERROR] = true;
  readonly code: AirlockErrorCode;
  readonly hint: string | undefined;

  constructor(code: AirlockErrorCode, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AirlockError';
    this.code = code;
    this.hint = hint;
  }
}

export function isAirlockError(value: unknown): value is AirlockError {
  return value instanceof AirlockError;
}
