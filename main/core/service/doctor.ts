import type { Keychain, KeychainStatus } from '../credentials/keychain.js';
import { isAirlockError } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import { socketAccess, type AccessDeps, type EngineAccess } from '../engine/engine-access.js';
import { engineRoundTrip } from './doctor-engine.js';
import { kitImageState } from '../images/image-kit.js';
import { BASE_IMAGE, DESKTOP_IMAGE, imageStatus, isOutdatedBase } from '../images/images.js';

export interface DoctorReport {
  engine: {
    ok: boolean; endpoint: string; version?: string; apiVersion?: string; os?: string; message: string; fix?: string;
    /** One request to the engine answered (GET /_ping, the median of three), in milliseconds. */
    latencyMs?: number;
    /** The engine created and removed a labelled container from the agent image (absent: the image is missing). */
    roundTrip?: boolean;
    /** May this user use the engine's local socket (absent for tcp://, ssh://: the remote engine decides). */
    access?: EngineAccess;
  };
  /** `store`: which store holds the secrets (`none`: no usable one); `persistent`: what it keeps survives a reboot. */
  keychain: KeychainStatus;
  /** `optional`: only some tasks need the image (agent-desktop: tasks with `display:`); a missing one does not make `ok` false. */
  /** `outdated`: there, but built by an older Airlock (without what agents now rely on: npm, pip…); it must be rebuilt. */
  images: { ref: string; present: boolean; id?: string; created?: string; sizeBytes?: number; fix?: string; optional?: boolean; kit?: string; outdated?: boolean }[];
  ok: boolean;
}

/** What `airlock doctor` and the app's status panel show: is everything a task needs in place? */
/** A kit's image as `run <kit>` would use it: optional (built on first use). */
export interface KitImageRef {
  kit: string;
  ref: string;
  /** kitRecipeDigest of the recipe in use: an image of another is outdated (rebuilt on the next run). */
  recipe: string;
}

export async function runDoctor(deps: { engine: Engine; keychain: Keychain; kits?: () => KitImageRef[]; access?: AccessDeps; now?: () => number }): Promise<DoctorReport> {
  const keychain = deps.keychain.probe();
  const options = deps.engine.endpoint.options;
  // Only a local unix socket has rights this user can be given (a named pipe, tcp:// and ssh:// are the engine's to decide).
  const access = deps.engine.endpoint.kind === 'unix' && options.socketPath ? socketAccess(options.socketPath, deps.access) : undefined;
  let engine: DoctorReport['engine'];
  let images: DoctorReport['images'];
  try {
    const info = await deps.engine.info();
    engine = {
      ok: true, endpoint: info.endpoint, version: info.version, apiVersion: info.apiVersion, os: `${info.os}/${info.arch}`,
      message: `${info.platform || 'Docker Engine'} ${info.version} (API ${info.apiVersion})`, ...(access ? { access } : {}),
    };
    const kits = deps.kits?.() ?? [];
    const [base, desktop, ...kitImages] = await Promise.all([imageStatus(deps.engine.api, BASE_IMAGE), imageStatus(deps.engine.api, DESKTOP_IMAGE), ...kits.map((k) => imageStatus(deps.engine.api, k.ref))]);
    const [baseOutdated, desktopOutdated] = await Promise.all([isOutdatedBase(deps.engine.api, BASE_IMAGE), isOutdatedBase(deps.engine.api, DESKTOP_IMAGE)]);
    const kitStates = await Promise.all(kits.map((k) => kitImageState(deps.engine.api, k.ref, k.recipe)));
    const outdated = { outdated: true, fix: 'built by an older Airlock (no npm, npx or pip): rebuild it: airlock image build' } as const;
    images = [
      !base!.present ? { ...base!, fix: 'airlock image build (or --offline where no registry is reachable)' } : baseOutdated ? { ...base!, ...outdated, fix: `${outdated.fix} (or --offline)` } : base!,
      { ...desktop!, optional: true, ...(desktop!.present ? desktopOutdated ? { ...outdated, fix: `${outdated.fix} --desktop (or --desktop --offline)` } : {} : { fix: 'only tasks with `display:` need it: airlock image build --desktop (or --desktop --offline)' }) },
      // A kit's image is built on its first run: missing is no failure.
      ...kitImages.map((status, i) => ({
        ...status, optional: true, kit: kits[i]!.kit,
        ...(!status.present ? { fix: `built on the first \`airlock run ${kits[i]!.kit}\`, or now: airlock image build --kit ${kits[i]!.kit}` }
          : kitStates[i] === 'outdated' ? { outdated: true, fix: `made from an older recipe of the kit: rebuilt on the next \`airlock run ${kits[i]!.kit}\`, or now: airlock image build --kit ${kits[i]!.kit}` } : {}),
      })),
    ];
    // What a task does first: create a container of the agent image (when there is one to use).
    const trip = await deps.engine.call((api) => engineRoundTrip(api, images[0]!.present ? BASE_IMAGE : undefined, deps.now));
    engine = { ...engine, latencyMs: trip.latencyMs, ...(trip.roundTrip !== undefined ? { roundTrip: trip.roundTrip } : {}) };
    if (trip.roundTrip === false) {
      engine = {
        ...engine, ok: false,
        message: `${engine.message} answers, but did not create a container of ${BASE_IMAGE}: ${trip.error}`,
        fix: `\`docker run --rm ${BASE_IMAGE} true\` shows the same; see the engine's log (journalctl -u docker)`,
      };
    }
  } catch (error) {
    engine = {
      ok: false,
      endpoint: deps.engine.endpoint.description,
      message: isAirlockError(error) ? error.message : (error as Error).message,
      ...(isAirlockError(error) && error.hint ? { fix: error.hint } : {}),
      // Refused by the socket's permissions: say so, and the command that gives the right.
      ...(access ? { access, ...(!access.ok ? { message: access.message, ...(access.fix ? { fix: access.fix } : {}) } : {}) } : {}),
    };
    images = [{ ref: BASE_IMAGE, present: false, fix: 'start the engine first' }, { ref: DESKTOP_IMAGE, present: false, optional: true, fix: 'start the engine first' }];
  }
  return { engine, keychain, images, ok: engine.ok && keychain.ok && images.every((i) => (i.present && !i.outdated) || i.optional) };
}
