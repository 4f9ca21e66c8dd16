// The display browser of a REAL display task (airlock/agent-desktop:1) is sent to the in-sandbox
// API, as a link or a redirect on any page would send it: refused and logged, while the agent itself
// still records an action the ordinary way. (What a page's scripts can send — fetch, forms, CORS
// "simple" requests — is attacked against the real gateway in sandbox-api-origin.test.ts.)
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../main/core/clock.js';
import { ScreenRegistry } from '../../main/core/desktop/screen-registry.js';
import { Gateway } from '../../main/core/gateway/gateway.js';
import { TaskRunner } from '../../main/core/tasks/runner.js';
import { harness, REPO, specFrom } from '../helpers/env.js';
import path from 'node:path';

describe('a web page in the sandbox\'s browser against the in-sandbox API', () => {
  it('is refused and logged; the agent\'s own call still works', async () => {
    const h = harness();
    const gateway = new Gateway({ bus: h.bus, clock: systemClock, resolve: async () => { throw new Error('no DNS in tests'); } });
    const runner = new TaskRunner({ engine: h.engine, bus: h.bus, clock: systemClock, home: h.home, gateway, assetsDir: path.join(REPO, 'assets'), screens: new ScreenRegistry(h.bus) });
    const own = `curl -s -o /dev/null -w 'own=%{http_code}\\n' -X POST -H 'content-type: application/json' -d '{"type":"agent-own"}' http://airlock.internal/v1/actions`;
    const ready = 'until curl -s --noproxy "*" http://127.0.0.1:9222/json/version >/dev/null; do sleep 0.5; done';
    const navigate = `curl -s --noproxy '*' -X PUT 'http://127.0.0.1:9222/json/new?http://airlock.internal/v1/whoami' >/dev/null`;
    const script = [ready, navigate, navigate.replace('whoami', 'actions'), 'sleep 8', own, 'echo done'].join('; ');
    const spec = specFrom(h.root, `name: page-vs-api\ncommand: ["sh", "-c", ${JSON.stringify(script)}]\ndisplay: { width: 800, height: 600, screenshotEvery: 'off' }\nnetwork: { mode: allowlist, allow: [pages.test] }\ntimeout: 2m\n`);
    const outcome = await runner.run(spec).finally(() => gateway.close());
    expect(outcome.exitCode).toBe(0);
    const task = h.events.find((e) => e.kind === 'task.created')!.task;
    const events = h.events.filter((e) => e.task === task);
    const actions = events.filter((e) => e.kind === 'agent.action').map((e) => e.data.type);
    // Nothing the browser sent was recorded; the agent's own call was.
    expect(actions).toEqual(['agent-own']);
    expect(events.some((e) => e.kind === 'proc.stdout' && String(e.data.line).includes('own=202'))).toBe(true);
    // The browser's attempts are in the log, refused as coming from the browser.
    const refused = events.filter((e) => e.kind === 'net.denied' && e.data.host === 'airlock.internal');
    expect(refused.length).toBeGreaterThanOrEqual(2);
    expect(refused.every((e) => e.decision?.rule === 'api.browser' && e.data.status === 403)).toBe(true);
  }, 150_000);
});
