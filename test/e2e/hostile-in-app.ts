// A hostile agent's task opened in the app as a person would watch it: the real built renderer in
// Chromium over the real service and bridge, the agent approved and run in a real sandbox, the
// page on its task. Shared by the tests of what the app shows of agent text.
import type { Browser, Page } from 'playwright-core';
import { hostileAgent } from '../adversarial/hostile-agent.js';
import { tempDir, waitFor } from '../helpers/env.js';
import { buildRenderer, launchChromium, startAppUnderTest, type AppUnderTest } from './harness.js';

export interface HostileInApp {
  app: AppUnderTest;
  browser: Browser;
  page: Page;
  task: string;
  close(): Promise<void>;
}

/** `fakeClock`: the page's clock is installed before the task starts, for tests of timing on screen. */
export async function watchHostileAgentInApp(options: { tempPrefix: string; agent: Parameters<typeof hostileAgent>[1]; fakeClock?: boolean }): Promise<HostileInApp> {
  buildRenderer();
  const app = await startAppUnderTest();
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
  if (options.fakeClock) await page.clock.install();
  // The window is open before the task starts: an ask with no window open to answer it is denied at once.
  await page.goto(app.bridge.url);
  await waitFor(async () => app.service.answersAsksOf('t_any') || undefined, 'the window to answer asks');
  const file = hostileAgent(tempDir(options.tempPrefix), options.agent);
  const { id } = app.service.openAgent(file);
  await app.service.approveAgent(id);
  const { task } = app.service.run({ agentId: id });
  await page.goto(`${app.bridge.url}#/tasks/${task}`);
  return {
    app, browser, page, task,
    async close() {
      await browser.close();
      await app.close();
    },
  };
}
