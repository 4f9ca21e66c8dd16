import { installLastResort } from '../core/tasks/last-resort.js';
import { closeContexts, liveTasks } from './context.js';
import { main } from './index.js';

// An error nothing handled: stop every task with an event, flush the trail, exit (never half-run).
installLastResort({ process, live: liveTasks, flush: closeContexts, exit: (code) => process.exit(code) });

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
