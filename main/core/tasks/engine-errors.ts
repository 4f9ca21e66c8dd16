import { AirlockError } from '../errors.js';
import { isNotFound } from '../engine/engine.js';
import type { Sandbox } from '../engine/sandbox.js';

/** The engine refuses to start a command that is not in the image: say which field to fix. */
export async function startOrExplain(sandbox: Sandbox, spec: { command: string[] | undefined; image: string }): Promise<void> {
  try {
    await sandbox.start();
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 400 || status === 500) {
      const detail = engineMessage(error);
      throw new AirlockError('bad_manifest', `command: the engine could not start ${JSON.stringify(spec.command ?? '(image default)')} in ${spec.image}: ${detail}`,
        'check that the program exists in the image and is executable by an unprivileged user');
    }
    throw error;
  }
}

/** Engine HTTP errors are not Airlock bugs: report them as one line, not a stack. */
export function explainEngineError(error: unknown): unknown {
  if (error instanceof AirlockError) return error;
  if (typeof (error as { statusCode?: unknown }).statusCode === 'number') {
    return new AirlockError('internal', `the engine refused: ${engineMessage(error)}`, 'see `airlock doctor`', { cause: error });
  }
  return error;
}

export function engineMessage(error: unknown): string {
  const json = (error as { json?: { message?: string } }).json;
  return (json?.message ?? (error as Error).message).trim();
}

/** A kit's image, `airlock/kit-<kit>:<version>`. */
const KIT_IMAGE = /^airlock\/kit-([a-z0-9-]+):/;

/** A 404 from creating a container is a missing image: say how to get it. */
export function orImageMissing(image: string, what: string): (error: unknown) => never {
  return (error) => {
    if (isNotFound(error) && /image/i.test(engineMessage(error))) {
      const kit = KIT_IMAGE.exec(image)?.[1];
      throw new AirlockError('image_missing', `image ${image}${what ? ` (${what})` : ''} is not on the engine`,
        image.startsWith('airlock/agent-base')
          ? 'build it with `airlock image build` (or `airlock image build --offline` where no registry is reachable)'
          : kit ? `build it with \`airlock image build --kit ${kit}\` (\`airlock run ${kit}\` builds it when it is missing)` : `pull or build ${image} first (docker pull ${image})`);
    }
    throw error;
  };
}

/**
 * The engine refused something a security control needs (the sidecar's namespaces, its tmpfs
 * workspace): the task is refused, naming the control, rather than run without it.
 */
export function orControlRefused(control: string, about?: RegExp): (error: unknown) => never {
  return (error) => {
    if (error instanceof AirlockError || isNotFound(error) || typeof (error as { statusCode?: unknown }).statusCode !== 'number') throw error;
    if (about && !about.test(engineMessage(error))) throw error;
    throw new AirlockError('policy_refused', `${control} cannot be enforced on this engine, so the task is refused: ${engineMessage(error)}`,
      'use Docker Engine 20.10 or later, Docker Desktop, or Podman with its Docker-compatible API; see `airlock doctor`', { cause: error });
  };
}
