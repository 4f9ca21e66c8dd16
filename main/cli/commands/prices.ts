// `airlock prices`: the price table model usage is costed with, and where each price comes from
// (the built-in table and its date, AIRLOCK_HOME/prices.json over it). Read here, no engine needed.
import type { Command } from 'commander';
import { findAssetsDir } from '../../core/assets.js';
import { airlockHome } from '../../core/home.js';
import { loadPrices } from '../../core/spend/prices.js';
import { out, outJson } from '../stdout.js';
import { inert } from '../terminal-text.js';

export function registerPricesCommand(program: Command): void {
  program
    .command('prices')
    .description('show the model price table used to estimate spend (USD per million tokens) and where it comes from')
    .option('--json', 'print the table as JSON')
    .action((opts: { json?: boolean }) => {
      const table = loadPrices(findAssetsDir(), airlockHome());
      if (opts.json) {
        outJson(table);
        return;
      }
      for (const source of table.sources) out(`${inert(source.file)}: ${source.models} model(s)${source.updated ? `, updated ${inert(source.updated)}` : ''}\n`);
      out(`a model matches the longest name it starts with; to change a price, write ${inert(`${airlockHome()}/prices.json`)} ({"models": {"openai": {"gpt-5": {"input": 1.25, "output": 10, "cached": 0.125}}}})\n\n`);
      out('provider   model                       input   output   cached   from\n');
      for (const [provider, models] of Object.entries(table.prices)) {
        for (const [name, price] of Object.entries(models)) {
          out(`${provider.padEnd(10)} ${inert(name).padEnd(27)} ${String(price.input).padStart(6)} ${String(price.output).padStart(8)} ${String(price.cached ?? price.input).padStart(8)}   ${price.from === table.sources[0]?.file ? 'built-in' : 'yours'}\n`);
        }
      }
    });
}
