// Which version of a kit's image `run <kit>` uses: kit.yaml's pinned one, unless the user built
// another with `airlock image build --kit <kit> --version X`, which records it in
// AIRLOCK_HOME/kits.json (per user; removing the entry goes back to the pinned version).
import path from 'node:path';
import { z } from 'zod';
import { StateFile, type StateFileFormat } from '../state-file.js';
import { EXACT_VERSION, type Kit } from './kit.js';

type Versions = Record<string, string>;
const versionsFormat: StateFileFormat<Versions> = {
  holds: 'the kit versions you built',
  recover: 'build the kit versions you want again with `airlock image build --kit <kit> --version X`',
  version: 1,
  readers: {
    1: z.strictObject({ v: z.literal(1), versions: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/), z.string().regex(EXACT_VERSION)) }).transform((file) => file.versions),
  },
  empty: () => ({}),
  encode: (versions) => ({ versions }),
};

export class KitVersions {
  readonly #file: StateFile<Versions>;

  constructor(home: string) {
    this.#file = new StateFile(path.join(home, 'kits.json'), versionsFormat);
  }

  /** The version `run <kit>` uses. */
  versionOf(kit: Pick<Kit, 'name' | 'version'>): string {
    return this.#file.read()[kit.name] ?? kit.version;
  }

  /** Records the version built last; the pinned one removes the entry. */
  use(kit: Pick<Kit, 'name' | 'version'>, version: string): void {
    this.#file.update((versions) => {
      const { [kit.name]: _old, ...rest } = versions;
      return version === kit.version ? rest : { ...rest, [kit.name]: version };
    });
  }
}
