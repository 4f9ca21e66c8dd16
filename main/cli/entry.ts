import { installLastResort } from '../core/tasks/last-resort.js';
import { LiveTasks } from '../core/tasks/live-tasks.js';
import { closeEngine } from './context.js';
import { main } from './index.js';

// An error nothing handled: end the client — which stops the tasks it runs or started attached,
// each with an event, and flushes the trail in in-process mode — then exit (never half-run).
installLastResort({ process, live: new LiveTasks(), flush: closeEngine, exit: (code) => process.exit(code) });

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
