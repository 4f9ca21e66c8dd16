import { benchAudit } from './audit.js';
import { benchCredentials } from './credentials.js';
import { benchDesktopFrames } from './desktop-frames.js';
import { benchDesktopStart } from './desktop-start.js';
import { benchForward } from './forward.js';
import { benchGateway } from './gateway.js';
import { benchPool } from './pool.js';
import { benchProject } from './project.js';
import { benchRemoteEngine } from './remote-engine.js';
import { benchStartup } from './startup.js';
import { benchUi } from './ui.js';

// `npm run bench [startup|pool|project|audit|forward|gateway|credentials|ui|desktop|remote]…`: the ones named, all by default.
const BENCHES: Record<string, () => Promise<void>> = {
  startup: benchStartup,
  pool: benchPool,
  project: benchProject,
  audit: benchAudit,
  forward: benchForward,
  gateway: benchGateway,
  credentials: benchCredentials,
  ui: benchUi,
  remote: benchRemoteEngine,
  desktop: async () => {
    await benchDesktopStart();
    await benchDesktopFrames();
  },
};
const named = process.argv.slice(2);
const unknown = named.filter((name) => !(name in BENCHES));
if (unknown.length > 0) {
  console.error(`no benchmark named ${unknown.join(', ')}: choose from ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
for (const [name, bench] of Object.entries(BENCHES)) if (named.length === 0 || named.includes(name)) await bench();
