/**
 * The renderer's only door to the main process (lint-enforced): wraps `window.airlock` so the rest
 * of the UI gets plain values and typed errors.
 *
 * The preload resolves every call to an envelope because Electron's contextBridge would strip
 * `code` and `hint` from a thrown error; here, on the page's side, we turn failures back into
 * ApiError with both intact.
 */
import type { AirlockApi, AirlockBridge, ErrorEnvelope, IpcError } from '../../../preload/contract';

export class ApiError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  constructor(error: IpcError) {
    super(error.message);
    this.name = 'ApiError';
    this.code = error.code;
    this.hint = error.hint;
  }
}

function bridge(): AirlockBridge {
  const exposed = window.airlock;
  if (!exposed) {
    throw new ApiError({
      code: 'no_bridge',
      message: 'This page is not running inside the Airlock app, so it cannot reach Airlock.',
      hint: 'start the app with `npm start`',
    });
  }
  return exposed;
}

async function unwrap<T>(pending: Promise<ErrorEnvelope<T>>): Promise<T> {
  const envelope = await pending;
  if (envelope.ok) return envelope.value;
  throw new ApiError(envelope.error);
}

export const api: AirlockApi = {
  app: {
    version: () => unwrap(bridge().app.version()),
  },
  doctor: {
    run: () => unwrap(bridge().doctor.run()),
  },
};

/** Code and hint of any error, for display; errors from outside the API count as `internal`. */
export function describeError(error: unknown): IpcError {
  if (error instanceof ApiError) return { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) };
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) };
}
