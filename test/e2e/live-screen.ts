/**
 * What the live-screen e2e test needs: a display agent that opens a page through the browser's
 * DevTools endpoint (a big heading on a red page, and a text field whose value it prints to the
 * log as it changes, so a person's typing shows in the action log), and a probe of the app's
 * canvas pixels.
 */
import type { Page } from 'playwright-core';

/** The page's background, which the live canvas must show. */
export const PAGE_RGB = [214, 40, 57] as const;

/** Where the page's text field is on the agent's screen (inside the browser's window, below its toolbar). */
export const FIELD_AT = { x: 400, y: 640 };

const AGENT = `
const base = process.env.AIRLOCK_CDP_URL;
const html = '<body style="margin:0;background:rgb(${PAGE_RGB.join(',')})"><h1 style="margin:40px;color:white;font:bold 110px sans-serif">AIRLOCK LIVE</h1>'
  + '<input id="t" style="position:fixed;left:80px;top:420px;width:900px;height:220px;font-size:80px"></body>';
const url = 'data:text/html,' + encodeURIComponent(html);
const target = await (await fetch(base + '/json/new?' + encodeURIComponent(url), { method: 'PUT' })).json();
console.log('page open');
const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((resolve) => ws.addEventListener('open', resolve, { once: true }));
const pending = new Map();
let id = 0;
ws.addEventListener('message', (m) => { const msg = JSON.parse(m.data); pending.get(msg.id)?.(msg); pending.delete(msg.id); });
const evaluate = (expression) => new Promise((resolve) => { id += 1; pending.set(id, resolve); ws.send(JSON.stringify({ id, method: 'Runtime.evaluate', params: { expression, returnByValue: true } })); });
let seen = '';
for (let i = 0; i < 360; i++) {
  const reply = await evaluate('document.getElementById("t").value');
  const value = reply.result?.result?.value ?? '';
  if (value !== seen) { seen = value; console.log('typed: ' + value); }
  await new Promise((resolve) => setTimeout(resolve, 500));
}
`;

export function displayAgentYaml(name: string): string {
  return `
name: ${name}
description: Opens a page in its sandbox's browser and reports what is typed into it
image: airlock/agent-desktop:1
display: { width: 1280, height: 800 }
network: { mode: none }
command: ${JSON.stringify(['node', '--input-type=module', '-e', AGENT])}
timeout: 5m
`;
}

/** Runs in the page (as source: this file is compiled without the DOM's types). */
const CANVAS_PROBE = `([r, g, b]) => {
  const canvas = document.querySelector('canvas[data-live-screen]');
  if (!canvas) return { width: 0, height: 0, page: 0, white: 0, blank: true };
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let matching = 0, white = 0, samples = 0, first = -1, varied = false;
  for (let i = 0; i < data.length; i += 4 * 7) {
    samples += 1;
    const pr = data[i], pg = data[i + 1], pb = data[i + 2];
    if (Math.abs(pr - r) < 16 && Math.abs(pg - g) < 16 && Math.abs(pb - b) < 16) matching += 1;
    if (pr > 235 && pg > 235 && pb > 235) white += 1;
    const packed = (pr << 16) | (pg << 8) | pb;
    if (first === -1) first = packed;
    else if (packed !== first) varied = true;
  }
  return { width: canvas.width, height: canvas.height, page: matching / samples, white: white / samples, blank: !varied };
}`;

/** Share of the live canvas that shows the page's background, and of bright (heading) pixels. */
export function canvasColours(page: Page): Promise<{ width: number; height: number; page: number; white: number; blank: boolean }> {
  return page.evaluate(`(${CANVAS_PROBE})(${JSON.stringify(PAGE_RGB)})`);
}

/** Clicks the live canvas at a point of the agent's screen (in screen pixels). */
export async function clickScreen(page: Page, x: number, y: number, screen = { width: 1280, height: 800 }): Promise<void> {
  const box = (await page.locator('canvas[data-live-screen]').boundingBox())!;
  await page.mouse.click(box.x + ((x + 0.5) * box.width) / screen.width, box.y + ((y + 0.5) * box.height) / screen.height);
}
