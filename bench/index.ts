import { benchAudit } from './audit.js';
import { benchStartup } from './startup.js';

// `npm run bench [startup|audit]`: both by default.
const only = process.argv[2];
if (!only || only === 'startup') await benchStartup();
if (!only || only === 'audit') await benchAudit();
