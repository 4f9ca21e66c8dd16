/**
 * The engine as a program of its own (out/cli/engine-main.cjs): what connectEngine starts in the
 * background, so a starting engine loads the core alone and not the CLI around it. Arguments:
 * `[engine serve] [--idle <duration>]` (the same as `airlock engine serve`).
 */
import module from 'node:module';
import { parseDuration } from '../policy/units.js';

async function main(argv: string[]): Promise<number> {
  const at = argv.indexOf('--idle');
  let idleMs: number | undefined;
  if (at !== -1) {
    const text = argv[at + 1] ?? '';
    idleMs = text.trim() === '0' ? 0 : parseDuration(text);
    if (idleMs === undefined) {
      process.stderr.write(`airlock engine: --idle ${text.slice(0, 40)}: not a duration\n`);
      return 125;
    }
  }
  // The core is a large bundle: V8's compile cache (beside the CLI's) makes a cold start shorter.
  module.enableCompileCache?.();
  const { runEngineProcess } = await import('./engine-entry.js');
  return runEngineProcess({ env: process.env, ...(idleMs === undefined ? {} : { idleMs }) });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`airlock engine: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(125);
  },
);
