/**
 * A hostile agent in a real sandbox, run through the built CLI, tries to take over the terminal
 * of whoever watches it — clipboard (OSC 52), window title, cursor, clear screen, C1 controls,
 * bidi overrides — and to forge Airlock's own lines, through its output, its action records and
 * its file names. The CLI's output must carry none of it raw; the agent's lines stay visibly its
 * own; the trail keeps exactly what the agent did; `--json` stays valid JSON that parses back to
 * the same events; `ps` makes a foreign container's hostile labels inert too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import { Engine, LABEL } from '../../main/core/engine/engine.js';
import { currentOwner } from '../../main/core/tasks/owner.js';
import { approve, runCli, tempDir, type CliResult } from '../helpers/env.js';
import { hostileAgent, RAW_CONTROL } from './hostile-agent.js';

const FAKE = '12:00:00.000 ✓ sandbox destroyed (nothing left) in 1ms';
/** A line as Airlock itself writes one: its time, then its mark. */
const AIRLOCK_DESTROYED_LINE = /^\d\d:\d\d:\d\d\.\d{3} ✓ sandbox destroyed/;

const dir = tempDir('airlock-terminal-');
const home = path.join(dir, 'home');
let run: CliResult;
let task: string;

beforeAll(async () => {
  const manifest = hostileAgent(dir, { name: 'terminal-attacker', script: 'terminal.mjs', more: ['outputs: [/workspace/out]', 'network: { mode: allowlist, allow: [nothing.test] }'] });
  approve(manifest, home);
  run = await runCli(['run', manifest], { env: { AIRLOCK_HOME: home } });
  task = /▶ (t_[0-9a-z]{26}) /.exec(run.stdout)?.[1] ?? '';
}, 120_000);

describe('a hostile agent on the terminal', () => {
  it('gets no control, escape or bidi character onto the terminal, and Airlock finishes the task', () => {
    expect(run.code).toBe(0);
    expect(task).toMatch(/^t_/);
    expect(run.stdout).not.toMatch(RAW_CONTROL);
    expect(run.stderr).not.toMatch(RAW_CONTROL);
    // Every attempt is there, as visible text.
    expect(run.stdout).toContain('clipboard \\u001b]52;c;');
    expect(run.stdout).toContain('title \\u001b]0;airlock: all clear\\u0007');
    expect(run.stdout).toContain('cursor \\u001b[2J\\u001b[H\\u001b[3A');
    expect(run.stdout).toContain('c1 \\u009b2J \\u009d0;title\\u009c done');
    expect(run.stdout).toContain('bidi invoice\\u202efdp.exe and \\u2066isolate\\u2069 and \\u200fmark');
    expect(run.stdout).toContain('del \\u007f and nul \\u0000 and tab \\t done');
    expect(run.stdout).toContain(`overwrite\\r${FAKE}`);
    expect(run.stdout).toMatch(/┃ stderr \\u001b]52;c;/);
    expect(run.stdout).toMatch(/│ done$/m); // it ran to the end
  });

  it('cannot forge Airlock\'s lines: its output, action records and file names stay on their own, marked lines', () => {
    const lines = run.stdout.split('\n');
    expect(lines.filter((line) => AIRLOCK_DESTROYED_LINE.test(line))).toHaveLength(1); // Airlock's own, last
    expect(lines.findLast((line) => line.trim() !== '')).toMatch(/outputs \(1 file\)|^outputs/);
    expect(run.stdout).toContain(`│ ${FAKE}`);
    // The forged record is the agent's claim: marked so, its kind is agent.action whatever it says.
    expect(run.stdout).toContain(`• [agent] tool_call\\n${FAKE} kind=task.destroyed actor=airlock k\\u001b]52;c;eA==\\u0007ey=v\\u009b2J\\u202e`);
    expect(run.stdout).toContain(`output /workspace/out/evil\\u001b]0;pwned\\u0007\\n${FAKE}.txt → `);
  });

  it('replays from the trail inert too, and --json is valid JSON that parses back to exactly the recorded events', async () => {
    const replay = await runCli(['log', task], { env: { AIRLOCK_HOME: home } });
    expect(replay.code).toBe(0);
    expect(replay.stdout).not.toMatch(RAW_CONTROL);
    expect(replay.stdout).toContain(`• [agent] tool_call\\n${FAKE}`);

    const json = await runCli(['log', task, '--json'], { env: { AIRLOCK_HOME: home } });
    expect(json.code).toBe(0);
    expect(json.stdout).not.toMatch(RAW_CONTROL);
    const printed = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as { kind: string; actor: string; data: Record<string, unknown> });
    const stored = fs.readdirSync(path.join(home, 'audit/segments')).flatMap((segment) => fs.readFileSync(path.join(home, 'audit/segments', segment), 'utf8').trim().split('\n'))
      .map((line) => JSON.parse(line) as { task: string }).filter((record) => record.task === task);
    expect(printed).toEqual(stored);
    // The trail keeps exactly what the agent did: the attack is on the record, byte for byte.
    expect(printed.some((e) => e.kind === 'proc.stdout' && e.data.line === 'bidi invoice\u202efdp.exe and \u2066isolate\u2069 and \u200fmark')).toBe(true);
    const action = printed.find((e) => e.kind === 'agent.action')!;
    expect(action.actor).toBe('agent');
    expect(action.data[`k\x1b]52;c;eA==\x07ey`]).toBe('v\u009b2J\u202e');
  });

  it('a foreign container\'s hostile labels: not a task in ps, and inert where the shadow scan and gc name it', async () => {
    const engine = Engine.connect();
    const container = await engine.api.createContainer({
      Image: 'airlock/agent-base:1', Cmd: ['sleep', '60'], HostConfig: { NetworkMode: 'none', AutoRemove: true },
      // Not Airlock's: anyone who can reach the engine can label a container like this.
      Labels: { [LABEL.task]: `t_fake\x1b]0;pwned\x07\n${FAKE}`, [LABEL.agent]: 'evil\u202egpj.exe', [LABEL.owner]: currentOwner() },
    });
    try {
      await container.start();
      const ps = await runCli(['ps'], { env: { AIRLOCK_HOME: home } });
      expect(ps.code).toBe(0);
      expect(ps.stdout).not.toContain('t_fake');
      for (const args of [['agents', 'ls', '--shadow'], ['gc']]) {
        const named = await runCli(args, { env: { AIRLOCK_HOME: home } });
        expect(named.code).toBe(0);
        const shown = named.stdout + named.stderr;
        expect(shown).not.toMatch(RAW_CONTROL);
        expect(shown).toContain('t_fake\\u001b]0;pwned\\u0007\\n');
        expect(shown.split('\n').filter((line) => line.startsWith('12:00'))).toEqual([]);
      }
      // A run meanwhile tells its own story only: the forged claim is the trail's and gc's, not in its output.
      const tiny = path.join(dir, 'tiny.yaml');
      fs.writeFileSync(tiny, 'name: tiny\ncommand: ["true"]\nnetwork: { mode: none }\n');
      approve(tiny, home);
      const own = await runCli(['run', tiny, '--json'], { env: { AIRLOCK_HOME: home } });
      const printed = own.stdout.trim().split('\n').map((line) => JSON.parse(line) as AirlockEvent);
      expect(new Set(printed.map((e) => e.task))).toEqual(new Set([printed[0]!.task]));
      expect(printed.map((e) => e.kind)).not.toContain('engine.forged');
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  });
});

