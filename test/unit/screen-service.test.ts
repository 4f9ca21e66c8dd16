/**
 * The service's live-screen methods over a real bus, a real ScreenRegistry and a real audit trail
 * (in a fresh AIRLOCK_HOME): watching a screen until it goes, control as logged events, input only
 * under control, and screenshots read from the trail — refused when their file was changed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AirlockEvent } from '../../main/core/audit/events.js';
import type { ScreenFrame } from '../../main/core/desktop/types.js';
import type { ServicePush } from '../../main/core/service/types.js';
import { AGENT, FakeScreen, screenService, solidPng } from '../helpers/screens.js';

const TASK = 't_01jz0000000000000000000001';
const OTHER = 't_01jz0000000000000000000002';

let env: ReturnType<typeof screenService>;

afterEach(async () => {
  await env?.close();
});

function setUp() {
  env = screenService();
  const events: AirlockEvent[] = [];
  env.bus.subscribe((event) => events.push(event));
  const pushes: ServicePush[] = [];
  env.service.subscribe((push) => pushes.push(push));
  return { ...env, events, pushes };
}

describe('watching a live screen', () => {
  it('hands over the whole screen, then changed regions, until unwatched', () => {
    const { screens, service } = setUp();
    const screen = new FakeScreen(TASK);
    screens.add(TASK, AGENT, screen);
    expect(service.screens.screenSize(TASK)).toEqual({ width: 1280, height: 800 });
    const frames: ScreenFrame[] = [];
    const stop = service.screens.watchScreen(TASK, (frame) => frames.push(frame));
    screen.show(10, 20, 30, 40, [255, 0, 0]);
    expect(frames.map((f) => [f.seq, f.x, f.y, f.w, f.h])).toEqual([[1, 0, 0, 1280, 800], [2, 10, 20, 30, 40]]);
    expect(frames[0]!.png.subarray(1, 4).toString()).toBe('PNG');
    stop();
    screen.show(0, 0, 1, 1, [0, 0, 0]);
    expect(frames).toHaveLength(2);
    expect(screen.watchers).toBe(0);
  });

  it('ends the watch when the task\'s screen goes, and says so', () => {
    const { screens, service } = setUp();
    const screen = new FakeScreen(TASK);
    const remove = screens.add(TASK, AGENT, screen);
    let ended = 0;
    const frames: ScreenFrame[] = [];
    service.screens.watchScreen(TASK, (frame) => frames.push(frame), () => (ended += 1));
    // another task's screen coming and going does not end it
    screens.add(OTHER, AGENT, new FakeScreen(OTHER))();
    expect(ended).toBe(0);
    remove();
    expect(ended).toBe(1);
    expect(screen.watchers).toBe(0);
    screen.show(0, 0, 1, 1, [0, 0, 0]);
    expect(frames).toHaveLength(1);
  });

  it('refuses a task without a live screen, with the fix', () => {
    const { service } = setUp();
    expect(() => service.screens.screenSize(TASK)).toThrow(expect.objectContaining({ code: 'not_found', hint: expect.stringContaining('display:') as unknown }));
    expect(() => service.screens.watchScreen(TASK, () => undefined)).toThrow(expect.objectContaining({ code: 'not_found' }));
  });
});

describe('control', () => {
  it('is view-only until a person takes control; taking and giving it back are logged, and the task list shows who has it', () => {
    const { screens, service, events, pushes } = setUp();
    const screen = new FakeScreen(TASK);
    screens.add(TASK, AGENT, screen);
    const click = { type: 'pointer', x: 5, y: 6, buttons: 1 } as const;
    expect(() => service.screens.screenInput(TASK, click)).toThrow(expect.objectContaining({ code: 'policy_refused', message: expect.stringContaining('view-only') as unknown }));
    pushes.length = 0;
    service.screens.takeControl(TASK);
    expect(screens.controller(TASK)).toBe('alice');
    expect(pushes.map((p) => p.topic)).toContain('tasks');
    service.screens.screenInput(TASK, click);
    service.screens.screenInput(TASK, { type: 'key', keysym: 0xff0d, down: true });
    expect(screen.inputs).toEqual([click, { type: 'key', keysym: 0xff0d, down: true }]);
    service.screens.releaseControl(TASK);
    expect(() => service.screens.screenInput(TASK, click)).toThrow(expect.objectContaining({ code: 'policy_refused' }));
    const control = events.filter((e) => e.kind === 'screen.control');
    expect(control.map((e) => [e.actor, e.data])).toEqual([
      ['user', { control: 'taken', by: 'alice', reason: 'taken from the app' }],
      ['user', { control: 'released', by: 'alice', reason: 'given back' }],
    ]);
  });

  it('refuses control of a screen registered view-only (a task another process runs), with why, and logs nothing', () => {
    const { screens, service, events } = setUp();
    const screen = new FakeScreen(TASK);
    screens.add(TASK, AGENT, screen, { viewOnly: 'the CLI runs it' });
    expect(() => service.screens.takeControl(TASK)).toThrow(expect.objectContaining({ code: 'policy_refused', message: expect.stringContaining('the CLI runs it') as unknown }));
    expect(screens.controller(TASK)).toBeUndefined();
    expect(() => service.screens.screenInput(TASK, { type: 'pointer', x: 1, y: 1, buttons: 1 })).toThrow(expect.objectContaining({ code: 'policy_refused' }));
    expect(screen.inputs).toEqual([]);
    expect(events.filter((e) => e.kind === 'screen.control')).toEqual([]);
  });

  it('refuses a pointer outside the task\'s own screen', () => {
    const { screens, service } = setUp();
    const screen = new FakeScreen(TASK, 800, 600);
    screens.add(TASK, AGENT, screen);
    service.screens.takeControl(TASK);
    expect(() => service.screens.screenInput(TASK, { type: 'pointer', x: 800, y: 10, buttons: 0 })).toThrow(expect.objectContaining({ code: 'bad_argument' }));
    expect(() => service.screens.screenInput(TASK, { type: 'pointer', x: 10, y: 600, buttons: 0 })).toThrow(expect.objectContaining({ code: 'bad_argument' }));
    service.screens.screenInput(TASK, { type: 'pointer', x: 799, y: 599, buttons: 0 });
    expect(screen.inputs).toHaveLength(1);
  });

  it('ends with the task, logged', () => {
    const { screens, service, events } = setUp();
    const remove = screens.add(TASK, AGENT, new FakeScreen(TASK));
    service.screens.takeControl(TASK);
    remove();
    expect(events.filter((e) => e.kind === 'screen.control').at(-1)?.data).toEqual({ control: 'released', by: 'alice', reason: 'the task ended' });
    expect(() => service.screens.takeControl(TASK)).toThrow(expect.objectContaining({ code: 'not_found' }));
  });
});

describe('screenshots', () => {
  it('lists a task\'s screenshots from the audit trail, also once its screen is gone, skipping records that are not screenshots', async () => {
    const { screens, service, recordShot, bus } = setUp();
    const remove = screens.add(TASK, AGENT, new FakeScreen(TASK));
    const first = recordShot(TASK, 1, 'start', solidPng(4, 4, [255, 0, 0]));
    const second = recordShot(TASK, 2, 'navigation', solidPng(4, 4, [0, 255, 0]), { url: 'https://example.test/' });
    recordShot(OTHER, 1, 'start', solidPng(4, 4, [0, 0, 255]));
    // not screenshots: a file outside the task's folder, a bad hash
    bus.emit({ task: TASK, agent: AGENT, actor: 'airlock', kind: 'screen.capture', data: { ...first, index: 3, file: '../../../etc/passwd.png' } });
    bus.emit({ task: TASK, agent: AGENT, actor: 'airlock', kind: 'screen.capture', data: { ...first, index: 4, sha256: 'nope' } });
    remove();
    await expect(service.screens.screenshots(TASK)).resolves.toEqual([first, second]);
    await expect(service.screens.screenshots('t_01jz0000000000000000000009')).resolves.toEqual([]);
  });

  it('hands out a screenshot\'s PNG while it is the file the trail recorded', async () => {
    const { service, recordShot } = setUp();
    const png = solidPng(8, 8, [12, 34, 56]);
    recordShot(TASK, 1, 'start', png);
    const bytes = await service.screens.screenshot(TASK, 1);
    expect(Buffer.from(bytes).equals(png)).toBe(true);
  });

  it('refuses a screenshot whose file was changed after it was taken (one byte flipped)', async () => {
    const { service, recordShot, home } = setUp();
    const info = recordShot(TASK, 1, 'interval', solidPng(8, 8, [12, 34, 56]));
    const file = path.join(home.task(TASK), info.file);
    const tampered = fs.readFileSync(file);
    tampered[tampered.length - 20]! ^= 0x01;
    fs.writeFileSync(file, tampered);
    await expect(service.screens.screenshot(TASK, 1)).rejects.toMatchObject({
      code: 'policy_refused',
      message: expect.stringMatching(new RegExp(`screenshot 1 of ${TASK} was changed after it was taken.*recorded ${info.sha256}`)) as unknown,
    });
  });

  it('refuses a screenshot whose file is gone, or that the trail does not have', async () => {
    const { service, recordShot, home } = setUp();
    const info = recordShot(TASK, 1, 'final', solidPng(8, 8, [1, 2, 3]));
    fs.rmSync(path.join(home.task(TASK), info.file));
    await expect(service.screens.screenshot(TASK, 1)).rejects.toMatchObject({ code: 'not_found', message: expect.stringContaining('is gone') as unknown });
    await expect(service.screens.screenshot(TASK, 2)).rejects.toMatchObject({ code: 'not_found', message: expect.stringContaining('no screenshot 2') as unknown });
  });
});
