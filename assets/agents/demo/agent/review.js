#!/usr/bin/env node
// Airlock demo agent: an invoice reviewer. Reconciles the invoices in <in>/invoices (*.json, or
// *.csv with one row per invoice line) against the supplier directory <in>/suppliers.csv and
// writes <out>/report.md and <out>/findings.json. Plain Node 18, no dependencies, no network.
// Every company, account and domain in the sample data is fictional.
'use strict';

const fs = require('node:fs');
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

// ---- output --------------------------------------------------------------------------------

function renderReport(invoices, suppliers, findings) {
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
      const detail = f.check === 'bank-account-mismatch' ? `${f.message}: invoice ${f.invoiceIban}, directory ${f.directoryIban}` : f.message;
      lines.push(`| ${esc(f.invoice)} | ${esc(f.source)} | ${esc(f.supplier)} | ${f.check} | ${f.severity} | ${esc(detail)} |`);
    }
  }
  lines.push('', '## All invoices', '', '| Invoice | File | Supplier | Issued | Due | Total | Status |', '|---|---|---|---|---|---|---|');
  for (const inv of invoices) {
    const status = flagged.has(`${inv.number}|${inv.source}`) ? 'hold' : 'ok';
    lines.push(`| ${inv.number} | ${inv.source} | ${inv.supplier.name} | ${inv.issueDate} | ${inv.dueDate} | ${inv.currency} ${money(inv.total)} | ${status} |`);
  }
  lines.push('');
  return lines.join('\n');
}

function main() {
  const invoiceDir = path.join(IN, 'invoices');
  const supplierFile = path.join(IN, 'suppliers.csv');
  step(`reading supplier directory ${supplierFile}`);
  const suppliers = readSuppliers(supplierFile);
  step(`found ${suppliers.length} suppliers`);
  const invoices = readInvoices(invoiceDir);
  step(`loaded ${invoices.length} invoices`);
  const findings = review(invoices, suppliers);
  fs.mkdirSync(OUT, { recursive: true });
  const reportFile = path.join(OUT, 'report.md');
  const findingsFile = path.join(OUT, 'findings.json');
  fs.writeFileSync(reportFile, renderReport(invoices, suppliers, findings));
  step(`wrote ${reportFile}`);
  const summary = { invoices: invoices.length, suppliers: suppliers.length, findings: findings.length };
  fs.writeFileSync(findingsFile, `${JSON.stringify({ summary, findings }, null, 2)}\n`);
  step(`wrote ${findingsFile}`);
  const held = new Set(findings.map((f) => `${f.invoice}|${f.source}`)).size;
  if (held > 0) warn(`${held} invoice(s) must be held before payment: see ${reportFile}`);
  step(`done: ${findings.length} finding(s) in ${invoices.length} invoices`);
}

try {
  main();
} catch (err) {
  console.error(`error: ${err.message}`);
  process.exitCode = 1;
}
