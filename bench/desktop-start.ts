// `npm run bench desktop`: a display task's start as a person sees it in the app — from run() to
// the first frame of its live screen (through the ScreenRegistry the app watches), and to the
// agent's first instruction — beside the same task without a display (run() to first instruction).
// Core in-process, as the app runs it; median of BENCH_RUNS (10). Never gates CI.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventBus } from '../main/core/audit/bus.js';
import { systemClock } from '../main/core/clock.js';
import { ScreenRegistry } from '../main/core/desktop/screen-registry.js';
import { Engine } from '../main/core/engine/engine.js';
import { homeLayout } from '../main/core/home.js';
import { manifestDigest, parseManifest } from '../main/core/policy/manifest.js';
import { TaskRunner } from '../main/core/tasks/runner.js';
import { resolveTaskSpec } from '../main/core/tasks/spec.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const AGENT = '["sh", "-c", "echo \\"first $(date +%s%3N)\\"; sleep 1"]';

function spec(dir: string, display: boolean) {
  const yaml = `name: bench-start\ncommand: ${AGENT}\n${display ? 'display: { width: 1280, height: 800, screenshotEvery: off }\n' : ''}`;
  return resolveTaskSpec({ manifest: parseManifest(yaml, 'bench.yaml'), digest: manifestDigest(yaml), file: path.join(dir, 'bench.yaml') }, {}, dir);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function benchDesktopStart(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-desktop-'));
  const bus = new EventBus(systemClock);
  const screens = new ScreenRegistry(bus);
  const engine = Engine.connect();
  const runner = new TaskRunner({ engine, bus, clock: systemClock, home: homeLayout(path.join(dir, 'home')), screens });
  const samples = { plainFirst: [] as number[], desktopFirst: [] as number[], desktopFrame: [] as number[] };
  try {
    for (let i = 0; i < RUNS; i += 1) {
      for (const display of [false, true]) {
        let firstInstruction = 0;
        let firstFrame = 0;
        let task = '';
        const off = bus.subscribe((event) => {
          if (event.kind === 'task.created') task = event.task;
          const match = event.kind === 'proc.stdout' ? /^first (\d{13})/.exec(String(event.data.line)) : null;
          if (match && event.task === task) firstInstruction = Number(match[1]);
        });
        const offScreens = screens.onChange(() => {
          if (!firstFrame && task && screens.has(task)) {
            const stop = screens.watch(task, () => {
              firstFrame ||= Date.now();
              queueMicrotask(stop);
            });
          }
        });
        const t0 = Date.now();
        const outcome = await runner.run(spec(dir, display));
        off();
        offScreens();
        if (outcome.exitCode !== 0 || !firstInstruction) throw new Error(`bench task failed (exit ${outcome.exitCode})`);
        if (display) {
          samples.desktopFirst.push(firstInstruction - t0);
          samples.desktopFrame.push(firstFrame - t0);
        } else {
          samples.plainFirst.push(firstInstruction - t0);
        }
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const plain = median(samples.plainFirst);
  console.log(`\nDisplay task start, in-process core (median of ${RUNS}; 1280x800, airlock/agent-desktop:1 vs airlock/agent-base:1)`);
  console.log(`  without a display: run() → agent's first instruction      ${plain.toFixed(0).padStart(6)} ms`);
  console.log(`  with a display:    run() → first frame in the live view   ${median(samples.desktopFrame).toFixed(0).padStart(6)} ms`);
  console.log(`                     run() → agent's first instruction      ${median(samples.desktopFirst).toFixed(0).padStart(6)} ms (the desktop starts first)`);
}
