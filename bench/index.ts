import { benchAudit } from './audit.js';
import { benchCredentials } from './credentials.js';
import { benchDesktopFrames } from './desktop-frames.js';
import { benchDesktopStart } from './desktop-start.js';
import { benchGateway } from './gateway.js';
import { benchStartup } from './startup.js';
import { benchUi } from './ui.js';

// `npm run bench [startup|audit|gateway|credentials|ui|desktop]`: all by default.
const only = process.argv[2];
if (!only || only === 'startup') await benchStartup();
if (!only || only === 'audit') await benchAudit();
if (!only || only === 'gateway') await benchGateway();
if (!only || only === 'credentials') await benchCredentials();
if (!only || only === 'ui') await benchUi();
if (!only || only === 'desktop') {
  await benchDesktopStart();
  await benchDesktopFrames();
}
