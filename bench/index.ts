import { benchAudit } from './audit.js';
import { benchGateway } from './gateway.js';
import { benchStartup } from './startup.js';

// `npm run bench [startup|audit|gateway]`: all by default.
const only = process.argv[2];
if (!only || only === 'startup') await benchStartup();
if (!only || only === 'audit') await benchAudit();
if (!only || only === 'gateway') await benchGateway();
