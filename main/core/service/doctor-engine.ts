// The engine part of `airlock doctor`, checked the way a task will use it: how long one request
// takes, and does the engine really create (and remove) a container from the agent image. Nothing
// is started: the container is created and removed. (Socket rights: engine/engine-access.ts.)
import type Dockerode from 'dockerode';
import { isAirlockError } from '../errors.js';

/** Label on the doctor's throwaway container, so that one left by a crash is recognisable. */
export const DOCTOR_LABEL = 'airlock.doctor';

export interface RoundTrip {
  /** One request answered (GET /_ping, the median of three), in milliseconds. */
  latencyMs: number;
  /** Whether the engine created and removed a labelled container from `image`. */
  roundTrip: boolean;
  /** Why not, when it did not. */
  error?: string;
}

/**
 * Pings the engine (the latency), then creates and removes a container of `image` (never started);
 * without an image (it is missing: the images' check says so) only the ping.
 */
export async function engineRoundTrip(api: Dockerode, image: string | undefined, now: () => number = () => performance.now(), wallClockMs: () => number = Date.now): Promise<{ latencyMs: number } & Partial<RoundTrip>> {
  // The median of three pings: the first also pays for opening the connection.
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const pinged = now();
    await api.ping();
    times.push(now() - pinged);
  }
  const latencyMs = Math.round(times.sort((a, b) => a - b)[1]! * 10) / 10;
  if (image === undefined) return { latencyMs };
  await removeStaleRoundTrips(api, wallClockMs());
  let container: Dockerode.Container | undefined;
  try {
    container = await api.createContainer({
      Image: image,
      Cmd: ['true'],
      Labels: { [DOCTOR_LABEL]: 'round-trip' },
      NetworkDisabled: true,
      HostConfig: { NetworkMode: 'none' },
    });
    // Already gone (a doctor beside this one took it for a leftover): it was created, which is the round trip.
    await container.remove({ force: true }).catch((error: unknown) => {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    });
    return { latencyMs, roundTrip: true };
  } catch (error) {
    if (container) await container.remove({ force: true }).catch(() => undefined);
    return { latencyMs, roundTrip: false, error: isAirlockError(error) ? error.message : engineSaid(error) };
  }
}

/** A doctor killed between create and remove (or whose create answer was lost) leaves its container; older than this, no doctor still uses it. */
const STALE_MS = 60_000;

/** Removes round-trip containers earlier doctors left (a concurrent doctor's fresh one is kept); best effort. */
async function removeStaleRoundTrips(api: Dockerode, nowMs: number): Promise<void> {
  const left = await api.listContainers({ all: true, filters: JSON.stringify({ label: [DOCTOR_LABEL] }) }).catch(() => []);
  await Promise.all(left.filter((c) => c.Created * 1000 < nowMs - STALE_MS).map((c) => api.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
}

/** The engine's own words from a dockerode error (its JSON `message`), else the error's. */
function engineSaid(error: unknown): string {
  const json = (error as { json?: { message?: unknown } }).json;
  if (json && typeof json.message === 'string') return json.message;
  return (error as Error).message;
}
