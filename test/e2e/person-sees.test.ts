/**
 * What the person sees in the app is what is true: the real built renderer in Chromium, over the
 * real service, bridge and a real sandbox. A hostile agent names outputs with bidi and zero-width
 * characters, writes such characters into its output lines and action fields, and asks for a long
 * look-alike host, then for a second host while the first ask is on screen. The page shows every
 * hidden character as a visible escape; the ask shows the registrable domain first and the whole
 * host uncut; the second ask never moves the first under the cursor, and its buttons take no click
 * until it has stood still for the arming delay (the page's clock is faked to check exactly that).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchHostileAgentInApp, type HostileInApp } from './hostile-in-app.js';

const LOOK_ALIKE = 'login.example.com.account-verification.secure-session.evil.test';
const SECOND = 'second.example.test';
/** The renderer's arming delay (renderer/src/lib/ask-placement.ts; that file is compiled for the web only). */
const ASK_ARM_DELAY_MS = 600;
/** Any character that changes what a person reads without being seen, raw on the page (innerText puts tabs and newlines between cells itself). */
// eslint-disable-next-line no-control-regex -- looking for control characters
const RAW_HIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]|\udb40|\ufe00/;

let watched: HostileInApp | undefined;
let page: Page;

beforeAll(async () => {
  watched = await watchHostileAgentInApp({
    tempPrefix: 'airlock-e2e-person-sees-', fakeClock: true,
    agent: {
      name: 'look-alike', script: 'person-sees.mjs',
      more: ['outputs: [/workspace/out]', 'network: { mode: allowlist, allow: [nothing.test], onUnknownHost: ask, askTimeout: 90s }',
        `env: { ASK: "1", ASK_HOST: ${LOOK_ALIKE}, ASK_SECOND: ${SECOND}, ASK_GAP_MS: "4000" }`],
    },
  });
  ({ page } = watched);
}, 180_000);

afterAll(async () => {
  await watched?.close();
});

const ask = (host: string) => page.locator(`.toast[data-approval="${host}"]`);
const enabled = (host: string) => ask(host).getByRole('button', { name: 'Deny' }).isEnabled();

describe('what the person sees in the app', () => {
  it('an ask shows the registrable domain first and the whole host, uncut; a new ask neither moves it nor takes clicks at once', async () => {
    const first = ask(LOOK_ALIKE);
    await first.waitFor({ timeout: 60_000 });
    await expect(first.locator('[data-domain]').textContent()).resolves.toBe('evil.test');
    await expect(first.locator('[data-whole]').textContent()).resolves.toBe(`${LOOK_ALIKE}:80`);
    // Whole and on screen: wrapped, not overflowing or cut off.
    expect(await first.locator('[data-whole]').evaluate((el) => el.scrollWidth <= el.clientWidth + 1)).toBe(true);
    const whole = (await first.locator('[data-whole]').boundingBox())!;
    expect(whole.x + whole.width).toBeLessThanOrEqual(page.viewportSize()!.width);

    // From here on the page's time moves only when the test says so.
    await page.clock.pauseAt(Date.now() + 2 * ASK_ARM_DELAY_MS);
    await expect.poll(() => enabled(LOOK_ALIKE)).toBe(true);
    const before = await first.boundingBox();

    const second = ask(SECOND);
    await second.waitFor({ timeout: 30_000 });
    expect(await first.boundingBox()).toEqual(before); // the one under the cursor stayed where it was
    expect(await enabled(SECOND)).toBe(false);
    await page.clock.runFor(ASK_ARM_DELAY_MS - 1);
    await page.waitForTimeout(100);
    expect(await enabled(SECOND)).toBe(false);
    await page.clock.runFor(1);
    await expect.poll(() => enabled(SECOND)).toBe(true);

    // Answering the first moves the second into its place: it is disarmed again for the delay.
    await first.getByRole('button', { name: 'Deny' }).click();
    await first.waitFor({ state: 'detached' });
    const moved = (await second.boundingBox())!;
    expect(moved.y + moved.height).toBeCloseTo(before!.y + before!.height, 0); // now at the bottom, where the first was
    expect(await enabled(SECOND)).toBe(false);
    await page.clock.runFor(ASK_ARM_DELAY_MS);
    await expect.poll(() => enabled(SECOND)).toBe(true);
    await second.getByRole('button', { name: 'Deny' }).click();
    await page.clock.resume();
    await page.locator('.log-row', { hasText: 'sandbox destroyed' }).waitFor({ timeout: 60_000 });
    // Both asks are on the record, denied by the person.
    await page.locator('.log-row', { hasText: `${SECOND}:80 denied` }).waitFor();
  }, 120_000);

  it('output lines, action fields and output names show bidi and zero-width characters as visible escapes', async () => {
    await page.locator('.log-row', { hasText: 'sent to pay\\u200bpal.com: \\u202eevil\\u202c tag\\udb40\\udc41' }).first().waitFor();
    await page.locator('.log-row', { hasText: 'report\\u202efdp.exe' }).first().waitFor();
    expect(await page.locator('body').innerText()).not.toMatch(RAW_HIDDEN);
    await page.getByRole('tab', { name: /Artifacts/ }).click();
    await page.getByText('/workspace/out/report\\u202efdp.exe').waitFor();
    await page.getByText('/workspace/out/pay\\u200bpal\\u00ad.txt').waitFor();
    expect(await page.locator('body').innerText()).not.toMatch(RAW_HIDDEN);
  }, 60_000);
});
