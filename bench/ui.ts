// `npm run bench -- ui`: the desktop app's live action log under load, in headless Chromium through
// the e2e test bridge (the real built renderer, the real AirlockService, bus, audit store and
// batching). 5,000 events/s for 20 s into an open task's log view, then on to 200,000 events:
// frames over 50 ms (log view open vs. the same stream with the status screen open, the baseline),
// renderer heap after GC at 200,000 events, event-to-screen latency, and scrolling at 200,000.
import type { CDPSession, Page } from 'playwright-core';
import type { AgentRef } from '../main/core/audit/events.js';
import { ephemeralHeadSigner } from '../main/core/audit/head.js';
import { newTaskId } from '../main/core/tasks/ids.js';
import { buildRenderer, launchChromium, startAppUnderTest, type AppUnderTest } from '../test/e2e/harness.js';

const RATE = Number(process.env.BENCH_UI_RATE ?? 5000);
const SECONDS = Number(process.env.BENCH_UI_SECONDS ?? 20);
const TOTAL = 200_000;
const agent: AgentRef = { name: 'bench-agent', digest: `sha256:${'ab'.repeat(32)}` };

/** A realistic mix: mostly output lines, some network requests (a tenth of them refused). */
function emitOne(app: AppUnderTest, task: string, i: number): void {
  if (i % 20 === 0) {
    const allow = i % 200 !== 0;
    app.bus.emit({
      task, agent, actor: 'agent', kind: 'net.request', decision: { allow, rule: allow ? 'allow:api.vendor.test' : 'allowlist', by: 'policy' },
      data: { method: 'GET', host: allow ? 'api.vendor.test' : 'other.test', port: 443, status: allow ? 200 : 403, bytesUp: 320, bytesDown: 5120, durationMs: 12 },
    });
  } else {
    app.bus.emit({ task, agent, actor: 'agent', kind: 'proc.stdout', data: { line: `line ${i}: reconciled invoice INV-${1000 + (i % 97)} against supplier S-${i % 13} (total 1,234.56 EUR)` } });
  }
}

/** Emits `count` events at `rate` per second (in 10 ms slices), from event number `from`. */
async function stream(app: AppUnderTest, task: string, from: number, count: number, rate: number): Promise<void> {
  const started = performance.now();
  let sent = 0;
  while (sent < count) {
    const due = Math.min(count, Math.floor(((performance.now() - started) / 1000) * rate));
    while (sent < due) emitOne(app, task, from + sent++);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Starts recording frame intervals and, for the log, when the newest row on screen changes. */
async function startRecording(page: Page): Promise<void> {
  await page.evaluate(`(() => {
    const r = window.__rec = { frames: [], latencies: [], lastSeq: -1, on: true };
    let last = performance.now();
    const tick = (now) => {
      if (!r.on) return;
      r.frames.push(now - last);
      last = now;
      const rows = document.querySelectorAll('.vlist .log-row');
      const newest = rows[rows.length - 1];
      if (newest) {
        const seq = Number(newest.getAttribute('data-seq'));
        if (seq !== r.lastSeq) {
          r.lastSeq = seq;
          r.latencies.push(Date.now() - Date.parse(newest.getAttribute('data-time')));
        }
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  })()`);
}

async function stopRecording(page: Page): Promise<{ frames: number[]; latencies: number[] }> {
  return page.evaluate('(() => { window.__rec.on = false; return { frames: window.__rec.frames, latencies: window.__rec.latencies }; })()');
}

const over50 = (frames: number[]) => (frames.length === 0 ? 0 : (frames.filter((f) => f > 50).length / frames.length) * 100);
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : Number.NaN;
};

async function heapAfterGc(cdp: CDPSession): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('HeapProfiler.collectGarbage');
  return (await cdp.send('Runtime.getHeapUsage')).usedSize;
}

async function eventsShown(page: Page): Promise<number> {
  const text = (await page.locator('.log-count').textContent()) ?? '0';
  return Number(text.replace(/[^\d]/g, ''));
}

export async function benchUi(): Promise<void> {
  buildRenderer();
  const app = await startAppUnderTest({ signer: ephemeralHeadSigner() });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('HeapProfiler.enable');

    // Baseline: the same stream with the status screen open (events still go into the store).
    const baselineTask = newTaskId();
    await page.goto(`${app.bridge.url}#/status`);
    await page.getByText('Docker engine').waitFor();
    await startRecording(page);
    await stream(app, baselineTask, 0, RATE * 5, RATE);
    const baseline = await stopRecording(page);
    await page.goto('about:blank');

    // The log view, following, at RATE for SECONDS.
    const task = newTaskId();
    await page.goto(`${app.bridge.url}#/tasks/${task}`);
    await page.locator('.log').waitFor();
    const heapEmpty = await heapAfterGc(cdp);
    await startRecording(page);
    await stream(app, task, 0, RATE * SECONDS, RATE);
    const live = await stopRecording(page);
    const transit = (await page.evaluate('window.__airlockBridgeStats.transitMs')) as number[];
    const oldest = (await page.evaluate('window.__airlockBridgeStats.oldestAgeMs')) as number[];

    // On to 200,000 events, then the heap after GC, then scrolling through all of them.
    const sent = RATE * SECONDS;
    await stream(app, task, sent, TOTAL - sent, 20_000);
    const deadline = Date.now() + 60_000;
    while ((await eventsShown(page)) < TOTAL && Date.now() < deadline) await page.waitForTimeout(200);
    const shown = await eventsShown(page);
    const heapFull = await heapAfterGc(cdp);
    await page.getByRole('button', { name: 'Pause' }).click();
    await startRecording(page);
    await page.evaluate(`new Promise((resolve) => {
      const list = document.querySelector('.vlist');
      const started = performance.now();
      const step = (now) => {
        const t = (now - started) / 3000;
        list.scrollTop = (1 - Math.abs(1 - 2 * Math.min(1, t))) * (list.scrollHeight - list.clientHeight);
        if (t < 1) requestAnimationFrame(step); else resolve();
      };
      requestAnimationFrame(step);
    })`);
    const scroll = await stopRecording(page);

    const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
    const pct = (v: number) => `${v.toFixed(2)}%`;
    const ms = (v: number) => `${Math.round(v)} ms`;
    console.log(`\nDesktop app: live action log in headless Chromium via the test bridge (${RATE.toLocaleString()} events/s for ${SECONDS} s, then to ${TOTAL.toLocaleString()})`);
    console.log('                                        measured                      baseline (status screen, same stream)   target');
    console.log(`frames over 50 ms (log view, live)      ${pct(over50(live.frames)).padEnd(30)}${pct(over50(baseline.frames)).padEnd(40)}< 1%`);
    console.log(`frames (count, median interval)         ${`${live.frames.length}, ${percentile(live.frames, 50).toFixed(1)} ms`.padEnd(30)}${`${baseline.frames.length}, ${percentile(baseline.frames, 50).toFixed(1)} ms`.padEnd(40)}`);
    console.log(`event-to-screen p50 / p95 (newest row)  ${`${ms(percentile(live.latencies, 50))} / ${ms(percentile(live.latencies, 95))}`.padEnd(70)}p50 <= 100 ms`);
    console.log(`  oldest event of a batch, at the page  ${`${ms(percentile(oldest, 50))} / ${ms(percentile(oldest, 95))}`.padEnd(70)}(p50 / p95: batching waits up to 50 ms)`);
    console.log(`  batch transit, service to page, p50   ${ms(percentile(transit, 50)).padEnd(70)}`);
    console.log(`renderer heap after GC, empty log       ${mb(heapEmpty).padEnd(70)}`);
    console.log(`renderer heap after GC, ${shown.toLocaleString()} events  ${mb(heapFull).padEnd(70)}<= 300 MB`);
    console.log(`frames over 50 ms, scrolling 200k rows  ${pct(over50(scroll.frames)).padEnd(70)}`);
    console.log(`pushes to the page (events per push)    ${String(await page.evaluate('window.__airlockBridgeStats.pushes')).padEnd(10)}(${Math.round(((await page.evaluate('window.__airlockBridgeStats.events')) as number) / ((await page.evaluate('window.__airlockBridgeStats.pushes')) as number))} per push on average)`);
  } finally {
    await browser.close();
    await app.close();
  }
}
