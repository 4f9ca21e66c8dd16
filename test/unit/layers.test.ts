// The layer rules of main/core (.dependency-cruiser.cjs, run by `npm run lint`) against a small
// tree that breaks each of them once, beside modules that follow them: an upward import, a peer
// import, a folder no layer names (a module that imports, and one that imports nothing), an import cycle, the core importing the CLI. And the places
// other work adds to (tasks/pool*.ts, server/ on the composition root) are accepted.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { cruise, type ICruiseResult, type IForbiddenRuleType } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../helpers/env.js';

const rules = createRequire(import.meta.url)(path.join(REPO, '.dependency-cruiser.cjs')) as { forbidden: IForbiddenRuleType[] };

const TREE: Record<string, string> = {
  'main/core/errors.ts': 'export class AirlockError extends Error {}\n',
  'main/core/airlock.ts': "import { Pool } from './tasks/pool.js';\nexport const createAirlock = () => new Pool();\n",
  'main/core/audit/events.ts': 'export type EventKind = string;\n',
  'main/core/engine/engine.ts': "import { AirlockError } from '../errors.js';\nexport class Engine { e = AirlockError; }\n",
  'main/core/tasks/pool.ts': "import type { EventKind } from '../audit/events.js';\nimport { Engine } from '../engine/engine.js';\nexport class Pool { kind: EventKind = ''; engine = Engine; }\n",
  'main/core/server/connect.ts': "import { createAirlock } from '../airlock.js';\nexport const connect = createAirlock;\n",
  // The violations, one each:
  'main/core/engine/upward.ts': "import type { Pool } from '../tasks/pool.js';\nexport type P = Pool;\n",
  'main/core/credentials/peer.ts': "import type { Engine } from '../engine/engine.js';\nexport type E = Engine;\n",
  'main/core/newthing/alone.ts': 'export const nothing = 0;\n',
  'main/core/newthing/helper.ts': "import { AirlockError } from '../errors.js';\nexport const h = AirlockError;\n",
  'main/core/gateway/ping.ts': "import { pong } from './pong.js';\nexport const ping = () => pong;\n",
  'main/core/gateway/pong.ts': "import { ping } from './ping.js';\nexport const pong = () => ping;\n",
  'main/core/desktop/uses-cli.ts': "import { run } from '../../cli/run.js';\nexport const r = run;\n",
  'main/cli/run.ts': "import { connect } from '../core/server/connect.js';\nexport const run = connect;\n",
};

describe('the layers of main/core', () => {
  it('refuse an upward import, a peer import, an unplaced folder, a cycle and the core importing the CLI; accept the rest', async () => {
    const dir = tempDir('airlock-layers-');
    for (const [file, text] of Object.entries(TREE)) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text);
    }
    // baseDir: the rules' paths are relative to the repository root.
    const cruised = await cruise(['main'], { baseDir: dir, ruleSet: { forbidden: rules.forbidden }, validate: true, tsPreCompilationDeps: true, includeOnly: '^main/' }, { extensions: ['.ts', '.js'] });
    const result = cruised.output as ICruiseResult;
    const found = result.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).sort();
    expect(found).toEqual([
      'core-is-inner: main/core/desktop/uses-cli.ts -> main/cli/run.ts',
      'layer-credentials: main/core/credentials/peer.ts -> main/core/engine/engine.ts',
      'layer-engine: main/core/engine/upward.ts -> main/core/tasks/pool.ts',
      'layer-unplaced-orphan: main/core/newthing/alone.ts -> main/core/newthing/alone.ts',
      'layer-unplaced: main/core/newthing/helper.ts -> main/core/errors.ts',
      'no-cycles: main/core/gateway/ping.ts -> main/core/gateway/pong.ts',
    ]);
  });
});
