// The pretend vendor portal of `npm run demo:desktop` (and of the desktop tests): a web site where
// a person — or a computer-use agent — signs in with an API key, lists invoices and opens one.
// Served with TLS on 127.0.0.1 only. It records what it saw (never the key itself).
import { Buffer } from 'node:buffer';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import https from 'node:https';

export const PORTAL_HOST = 'portal.vendor.test';

const INVOICES = [
  { id: 'INV-2041', supplier: 'Nordwind Logistics GmbH', amount: 'EUR 18,420.00', due: '2026-12-15', iban: 'DE44 5001 0517 5407 3249 31', previousIban: 'DE89 3704 0044 0532 0130 00' },
  { id: 'INV-2038', supplier: 'Nordwind Logistics GmbH', amount: 'EUR 6,310.50', due: '2026-11-30', iban: 'DE89 3704 0044 0532 0130 00', previousIban: 'DE89 3704 0044 0532 0130 00' },
];

const page = (title, body) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font:18px/1.5 system-ui,sans-serif;margin:0;background:#f4f6fb;color:#1c2333}header{background:#23407a;color:#fff;padding:18px 40px;font-size:26px}
main{padding:30px 40px;max-width:900px}label{display:block;margin:14px 0 6px}input{font:inherit;padding:8px;width:420px}button{font:inherit;padding:8px 24px;margin-top:16px;background:#23407a;color:#fff;border:0;border-radius:4px}
table{border-collapse:collapse;width:100%;background:#fff}td,th{padding:10px 14px;border-bottom:1px solid #dde3ee;text-align:left}.warn{background:#fff4d6;padding:12px;border-left:5px solid #e0a100}</style></head>
<body><header>Nordwind Vendor Portal</header><main>${body}</main></body></html>`;

const LOGIN = page('Sign in — Nordwind Vendor Portal', `<h1>Sign in</h1>
<form id="login"><label for="key">API key</label><input id="key" type="password" autocomplete="off"><br><button id="signin" type="submit">Sign in</button></form>
<p id="error" style="color:#b00020"></p>
<script>
document.getElementById('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const key = document.getElementById('key').value;
  const res = await fetch('/session', { method: 'POST', headers: { Authorization: 'Bearer ' + key } });
  if (res.ok) location.href = '/invoices';
  else document.getElementById('error').textContent = 'Sign-in failed (' + res.status + ')';
});
</script>`);

const list = () => page('Invoices — Nordwind Vendor Portal', `<h1>Open invoices</h1><table><tr><th>Invoice</th><th>Amount</th><th>Due</th></tr>
${INVOICES.map((i) => `<tr><td><a id="${i.id}" href="/invoices/${i.id}">${i.id}</a></td><td>${i.amount}</td><td>${i.due}</td></tr>`).join('')}</table>`);

const detail = (i) => page(`${i.id} — Nordwind Vendor Portal`, `<h1>Invoice ${i.id}</h1><table>
<tr><th>Supplier</th><td id="supplier">${i.supplier}</td></tr><tr><th>Amount</th><td id="amount">${i.amount}</td></tr>
<tr><th>Due</th><td id="due">${i.due}</td></tr><tr><th>Pay to IBAN</th><td id="iban">${i.iban}</td></tr></table>
${i.iban !== i.previousIban ? `<p class="warn" id="notice">Bank details updated: previous invoices were paid to ${i.previousIban}.</p>` : ''}`);

/**
 * Starts the portal on 127.0.0.1:`port` with `tls` ({ key, certPem }). Signing in needs
 * `Authorization: Bearer <secret>`; the session is a cookie. Resolves with the server and what it saw.
 */
export async function startVendorPortal({ port, secret, tls }) {
  const expected = Buffer.from(`Bearer ${secret}`);
  const sessions = new Set();
  const seen = [];
  const server = https.createServer({ key: tls.key, cert: tls.certPem }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://portal.vendor.test');
    const given = Buffer.from(req.headers.authorization ?? '');
    const key = given.length === 0 ? undefined : given.length === expected.length && timingSafeEqual(given, expected) ? 'the real key' : /^Bearer eyJ/.test(given.toString()) ? 'an Airlock placeholder, not the key' : 'a wrong key';
    const cookie = /(?:^|;\s*)session=([A-Za-z0-9_-]+)/.exec(req.headers.cookie ?? '')?.[1];
    const signedIn = cookie !== undefined && sessions.has(cookie);
    const reply = (status, body, headers = {}) => {
      seen.push({ method: req.method, path: url.pathname, ...(key ? { key } : {}), status });
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers }).end(body);
    };
    if (req.method === 'GET' && url.pathname === '/') return reply(200, LOGIN);
    if (req.method === 'POST' && url.pathname === '/session') {
      if (key !== 'the real key') return reply(401, 'a valid API key is required', { 'content-type': 'text/plain' });
      const session = randomBytes(18).toString('base64url');
      sessions.add(session);
      return reply(204, '', { 'set-cookie': `session=${session}; Path=/; Secure; HttpOnly; SameSite=Strict` });
    }
    if (!signedIn) return reply(302, '', { location: '/' });
    if (req.method === 'GET' && url.pathname === '/invoices') return reply(200, list());
    const invoice = INVOICES.find((i) => url.pathname === `/invoices/${i.id}`);
    if (req.method === 'GET' && invoice) return reply(200, detail(invoice));
    return reply(404, page('Not found', '<h1>Not found</h1>'));
  });
  await new Promise((resolve, reject) => {
    server.once('error', (error) => reject(error.code === 'EADDRINUSE' ? new Error(`port ${port} on 127.0.0.1, where the pretend vendor portal listens, is already in use (is another demo running?)`) : error));
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    seen,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
