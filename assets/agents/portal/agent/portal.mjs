// A scripted computer-use agent: it drives the sandbox's browser through the Chrome DevTools
// Protocol (AIRLOCK_CDP_URL; Node's own fetch and WebSocket, no packages) the way a model-driven
// agent would — open the vendor portal, sign in with the key Airlock lends it (it holds only a
// placeholder; the gateway swaps the real key in on the way out), read an invoice, then try a site
// it was not given (and see Airlock's refusal page), and write what it found.
import fs from 'node:fs';

const PORTAL = process.env.PORTAL_URL ?? 'https://portal.vendor.test:18444';
const ELSEWHERE = process.env.ELSEWHERE_URL ?? 'https://files.unknown.test/upload';
const PAUSE_MS = Number(process.env.STEP_PAUSE_MS ?? 1200); // so a person watching can follow
const OUT = '/workspace/out';

const say = (text) => console.log(`agent: ${text}`);
const pause = (ms = PAUSE_MS) => new Promise((resolve) => setTimeout(resolve, ms));

/** One CDP session with the browser's first page. */
async function connect() {
  const targets = await (await fetch(`${process.env.AIRLOCK_CDP_URL}/json/list`)).json();
  const page = targets.find((t) => t.type === 'page');
  if (!page) throw new Error('the browser has no page');
  const socket = new WebSocket(page.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true });
    socket.addEventListener('error', () => reject(new Error('could not reach the browser')), { once: true });
  });
  let nextId = 1;
  const pending = new Map();
  const waiters = [];
  socket.addEventListener('message', (message) => {
    const data = JSON.parse(message.data);
    if (data.id && pending.has(data.id)) {
      const { resolve, reject } = pending.get(data.id);
      pending.delete(data.id);
      if (data.error) reject(new Error(`${data.error.message}`));
      else resolve(data.result);
    } else if (data.method) {
      for (const waiter of waiters.splice(0)) {
        if (waiter.method === data.method) waiter.resolve(data.params);
        else waiters.push(waiter);
      }
    }
  });
  const send = (method, params = {}) => new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    socket.send(JSON.stringify({ id, method, params }));
  });
  const next = (method, timeoutMs = 20_000) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${method} within ${timeoutMs} ms`)), timeoutMs);
    waiters.push({ method, resolve: (params) => { clearTimeout(timer); resolve(params); } });
  });
  await send('Page.enable');
  return { send, next, close: () => socket.close() };
}

async function open(cdp, url) {
  const loaded = cdp.next('Page.loadEventFired');
  const { errorText } = await cdp.send('Page.navigate', { url });
  if (errorText) throw new Error(`${url}: ${errorText}`);
  await loaded;
}

async function evaluate(cdp, expression) {
  const { result, exceptionDetails } = await cdp.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
  if (exceptionDetails) throw new Error(exceptionDetails.text);
  return result.value;
}

/** Clicks the middle of an element with the mouse, as a person would. */
async function click(cdp, selector) {
  const box = await evaluate(cdp, `(() => { const r = document.querySelector(${JSON.stringify(selector)}).getBoundingClientRect(); return { x: r.x + r.width / 2, y: r.y + r.height / 2 }; })()`);
  await cdp.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x: box.x, y: box.y });
  await cdp.send('Input.dispatchMouseEvent', { type: 'mousePressed', x: box.x, y: box.y, button: 'left', clickCount: 1 });
  await cdp.send('Input.dispatchMouseEvent', { type: 'mouseReleased', x: box.x, y: box.y, button: 'left', clickCount: 1 });
}

async function main() {
  const token = process.env.PORTAL_TOKEN;
  if (!token) throw new Error('PORTAL_TOKEN is not set: run with the demo-portal credential (npm run demo:desktop)');
  const cdp = await connect();

  say(`opening the vendor portal ${PORTAL}`);
  await open(cdp, `${PORTAL}/`);
  await pause();

  say('signing in with the lent API key (a placeholder: the real key never enters this sandbox)');
  await click(cdp, '#key');
  await cdp.send('Input.insertText', { text: token });
  await pause(400);
  const signedIn = cdp.next('Page.loadEventFired');
  await click(cdp, '#signin');
  await signedIn;
  const title = await evaluate(cdp, 'document.title');
  if (!title.startsWith('Invoices')) throw new Error(`sign-in failed: the portal shows "${title}"`);
  await pause();

  say('opening invoice INV-2041');
  const opened = cdp.next('Page.loadEventFired');
  await click(cdp, '#INV-2041');
  await opened;
  const invoice = await evaluate(cdp, `({ supplier: document.querySelector('#supplier').textContent, amount: document.querySelector('#amount').textContent,
    due: document.querySelector('#due').textContent, iban: document.querySelector('#iban').textContent, notice: document.querySelector('#notice')?.textContent ?? '' })`);
  say(`read: ${invoice.supplier}, ${invoice.amount}, due ${invoice.due}, IBAN ${invoice.iban}`);
  await pause();

  say(`trying ${ELSEWHERE} (not allowed for this task)`);
  await open(cdp, ELSEWHERE);
  const refusal = await evaluate(cdp, 'document.title + " | " + document.querySelector("main p")?.textContent');
  say(`the browser shows: ${refusal}`);
  await pause();
  cdp.close();

  const changed = invoice.notice !== '';
  const finding = [
    '# Invoice INV-2041 — finding',
    '',
    `- Supplier: ${invoice.supplier}`,
    `- Amount: ${invoice.amount}, due ${invoice.due}`,
    `- Pay to: ${invoice.iban}`,
    '',
    changed
      ? `**Hold the payment.** ${invoice.notice} A changed bank account on a large invoice is the classic invoice-fraud pattern: confirm the new account with the supplier by phone, using a number from the supplier file, before paying.`
      : 'The bank account matches earlier invoices: OK to pay.',
    '',
    `(Uploading this to ${new URL(ELSEWHERE).host} was refused by Airlock: ${refusal})`,
    '',
  ].join('\n');
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(`${OUT}/finding.md`, finding);
  say(`wrote ${OUT}/finding.md: ${changed ? 'hold the payment, the bank account changed' : 'OK to pay'}`);
}

main().catch((error) => {
  console.error(`agent: ${error.message}`);
  process.exit(1);
});
