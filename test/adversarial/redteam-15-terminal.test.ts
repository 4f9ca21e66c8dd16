/**
 * Red team, issue 15: a hostile agent in a real TTY sandbox, the real engine, the built CLI on a
 * real pseudo-terminal, hiding escape sequences for the person's terminal from Airlock's output
 * filter the ways a terminal's own parser (VT500: xterm, VTE, xterm.js) still reads them:
 * - an OSC 52 inside another OSC, or right after an unfinished CSI (an ESC ends what it interrupts,
 *   for the terminal; the filter took the rest as part of the harmless title or CSI);
 * - a C0 control inside the escape or inside the OSC number (the terminal executes or ignores it);
 * - a number with a leading zero (052 is 52, 021 is 21) or a UTF-8 C1 control inside a string;
 * - the clipboard protocols that are not OSC 52 (kitty's OSC 5522, iTerm2's OSC 1337 Copy);
 * - a hyperlink to javascript: for the person to click.
 * None reaches the terminal; a title and colours still do; the session goes on; nothing the agent
 * wrote is in the log.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stopEngine } from '../helpers/engine.js';
import { approve, runCli, tempDir } from '../helpers/env.js';
import { startPtySession } from '../helpers/pty-session.js';

const dir = tempDir('airlock-redteam15-term-');
const home = path.join(dir, 'home');
const env = { AIRLOCK_HOME: home };

/** Each attack's payload is a marker the terminal must never be handed inside a sequence. */
const HIDDEN = [
  String.raw`\033]0;t\033]52;c;UFdOMQ==\007`,      // OSC 52 inside a title
  String.raw`\033[1\033]52;c;UFdOMg==\007`,        // OSC 52 after an unfinished CSI
  String.raw`\033]052;c;UFdOMw==\007`,             // 052 is 52
  String.raw`\033\001]52;c;UFdONA==\007`,          // ESC ^A ] is still an OSC
  String.raw`\033]5\0012;c;UFdONQ==\007`,          // ^A inside the number is ignored: 52
  String.raw`\033]5522;type=write;UFdONg==\007`,   // kitty's clipboard protocol
  String.raw`\033]1337;Copy=;UFdONw==\007`,        // iTerm2's clipboard
  String.raw`\033]0;t\302\23552;c;UFdOOA==\007`,   // a UTF-8 C1 OSC inside a title
  String.raw`\033]8;;javascript:UFdOOQ\033\134x\033]8;;\033\134`, // a link that runs script
];
const REPORTS = [
  String.raw`\033[021t`,                          // 021 is 21: report the title, typed back
  String.raw`\033[2\0101t`,                        // ^H inside the parameters is executed: 21 t
];
const SCRIPT = [
  ...[...HIDDEN, ...REPORTS].map((attack, i) => `printf '<${i}:${attack}>'`),
  String.raw`printf 'ok:\033[31mred\033[0m\033]0;my title\007|'`,
  'echo; echo ready',
  'while true; do IFS= read -r line && echo "you typed: $line"; done',
].join('; ');

describe('red team 15: escape sequences hidden from the terminal filter', () => {
  afterAll(async () => {
    await stopEngine(home);
  });

  it('none reaches the person\'s terminal, a title and colours do, the session goes on, and the log has none of it', { timeout: 120_000 }, async () => {
    const file = path.join(dir, 'hider.yaml');
    fs.writeFileSync(file, `name: hider\ncommand: ["sh", "-c", ${JSON.stringify(SCRIPT)}]\nnetwork: { mode: none }\ntimeout: 2m\n`);
    approve(file, home);
    const session = startPtySession(['run', file, '-it'], { dir, env, cols: 100, rows: 30 });
    try {
      await session.waitFor('ready');
      const shown = session.shown();
      expect(shown).toContain('ok:\x1b[31mred\x1b[0m\x1b]0;my title\x07|');
      for (let i = 0; i < HIDDEN.length + REPORTS.length; i++) expect(shown).toContain(`<${i}:`);
      expect(shown).not.toMatch(/UFdO/); // no payload, in or out of a sequence
      expect(shown).not.toContain('javascript:');
      expect(shown).not.toMatch(new RegExp(String.raw`\x1b\[0*2\D*1t`)); // no title report
      expect(shown).not.toMatch(new RegExp(String.raw`\x1b\][^\x07]*(52|5522|1337);`)); // no clipboard

      session.type('still here\r');
      await session.waitFor('you typed: still here');
      session.type('\x1dq');
      expect(await session.exited).toBe(130);
      expect(session.shown()).toMatch(/14 escape sequences the agent wrote for this terminal .* were cut/);

      const log = (await runCli(['log', '--json'], { env })).stdout.trim();
      expect(log).toContain('"kind":"terminal.started"');
      expect(log).toContain('"kind":"terminal.ended"');
      // The command (in task.created) names the payloads; nothing the agent wrote is recorded.
      expect(log.split('\n').filter((line) => line.includes('UFdO')).map((line) => (JSON.parse(line) as { kind: string }).kind)).toEqual(['task.created']);
    } finally {
      session.kill();
    }
  });
});
