// A core with a warm pool of one, in a process of its own (the engine), for pool-isolation.test.ts
// to kill: prints `ready <slot>` once the slot is prepared and its records are on disk, then idles.
import { pooledAirlock } from '../helpers/pool.js';

const s = pooledAirlock({ home: process.argv[2]!, pool: { size: 1 } });
const [slot] = await s.ready();
await s.airlock.audit().flush();
process.stdout.write(`ready ${slot}\n`);
setInterval(() => undefined, 60_000);
