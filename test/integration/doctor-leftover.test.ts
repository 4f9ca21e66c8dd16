/**
 * The doctor's round trip creates and removes a labelled container; a doctor killed between the
 * two (or whose create answer was lost) leaves it behind. The next doctor removes such leftovers,
 * but not the fresh one of a doctor running beside it. Real engine; a clock two minutes ahead
 * stands in for the wait.
 */
import Dockerode from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { BASE_IMAGE } from '../../main/core/images/image-names.js';
import { DOCTOR_LABEL, engineRoundTrip } from '../../main/core/service/doctor-engine.js';

const api = new Dockerode({ socketPath: '/var/run/docker.sock' });
const made: string[] = [];
afterAll(async () => {
  await Promise.all(made.map((id) => api.getContainer(id).remove({ force: true }).catch(() => undefined)));
});

const exists = async (id: string) => (await api.listContainers({ all: true, filters: JSON.stringify({ id: [id] }) })).length === 1;

describe('a round-trip container an earlier doctor left behind', () => {
  it('is removed by the next doctor; a concurrent doctor\'s fresh one is kept', async () => {
    const left = await api.createContainer({ Image: BASE_IMAGE, Cmd: ['true'], Labels: { [DOCTOR_LABEL]: 'round-trip' }, HostConfig: { NetworkMode: 'none' } });
    made.push(left.id);
    expect(await engineRoundTrip(api, BASE_IMAGE)).toMatchObject({ roundTrip: true });
    expect(await exists(left.id)).toBe(true); // just made: maybe another doctor's, mid-round-trip

    const twoMinutesOn = () => Date.now() + 120_000;
    expect(await engineRoundTrip(api, BASE_IMAGE, undefined, twoMinutesOn)).toMatchObject({ roundTrip: true });
    expect(await exists(left.id)).toBe(false);
  });
});
