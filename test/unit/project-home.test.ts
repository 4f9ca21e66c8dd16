import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withoutAirlockHome } from '../../main/core/tasks/project-copy.js';
import type { ProjectListing } from '../../main/core/tasks/project-files.js';
import { tempDir } from '../helpers/env.js';

describe('a project that holds AIRLOCK_HOME', () => {
  it('never copies Airlock\'s own folder (its trail, other tasks\' files) into the sandbox; the rest of the project goes in', () => {
    const project = fs.realpathSync(tempDir('airlock-project-home-'));
    const home = path.join(project, '.airlock');
    fs.mkdirSync(path.join(home, 'audit'), { recursive: true });
    const file = (p: string, size = 1) => ({ path: p, mode: 0o644, size });
    const listing: ProjectListing = {
      hostPath: project, git: false, withheld: [], bytes: 112,
      entries: [file('src/a.ts', 10), file('.airlock/audit/segment.jsonl', 100), file('.airlock/credentials.json', 1), file('.airlockish/keep.txt', 1)],
    };
    const kept = withoutAirlockHome(listing, home);
    expect(kept.entries.map((e) => e.path)).toEqual(['src/a.ts', '.airlockish/keep.txt']);
    expect(kept.bytes).toBe(11);
    // AIRLOCK_HOME elsewhere: the listing is as it was.
    expect(withoutAirlockHome(listing, path.join(tempDir(), 'home'))).toBe(listing);
    expect(() => withoutAirlockHome({ ...listing, hostPath: home }, home)).toThrow(/is AIRLOCK_HOME itself/);
  });
});
