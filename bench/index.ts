import { benchStartup } from './startup.js';

const only = process.argv[2];
if (!only || only === 'startup') await benchStartup();
