import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_TTL_MS } from '../tasks/grants.js';
import { DEFAULT_ASK_TIMEOUT_MS } from '../tasks/network-spec.js';
import { DEFAULT_PROJECT_PATH, DELEGATE_DEFAULTS, DISPLAY_DEFAULTS, SANDBOX_DEFAULTS } from '../tasks/spec.js';
import type { LoadedManifest } from '../policy/manifest.js';
import { DEFAULT_DESKTOP_IMAGE, DEFAULT_IMAGE } from '../policy/manifest-schema.js';
import { parseRegistries } from '../policy/registries.js';
import { formatDuration, formatSize, parseSize } from '../policy/units.js';

/**
 * Everything an agent will get, as a person approving it should see it: the one model behind the
 * CLI's summary (`agents approve`, `agents show`, the prompt of `run`) and the app's approval view,
 * so the two can never show different things. Defaults are filled in, input paths resolved.
 */
export interface ApprovalSummary {
  name: string;
  description?: string;
  file: string;
  digest: string;
  image: string;
  /** null: the image's own command. */
  command: string[] | null;
  workdir: string;
  /** `from` as written, `hostPath` as it resolves on this machine (symlinks followed). */
  inputs: { from: string; hostPath: string; to: string; outsideManifestFolder: boolean; missing: boolean }[];
  /** Values that look like secrets are not shown (`value` absent, `hidden` says why). */
  env: { name: string; value?: string; hidden?: string }[];
  outputs: string[];
  /** The agent takes a working copy of the folder each run names (`--project`), put at `to`; null: none. */
  project: { to: string } | null;
  display: { width: number; height: number; screenshotEvery: string } | null;
  network: {
    mode: 'none' | 'allowlist' | 'open';
    allow: string[];
    local: string[];
    /** Package registries by name, with the hosts each adds (`local` for a company's). */
    registries: { name: string; hosts: string[] }[];
    onUnknownHost: 'deny' | 'ask';
    askTimeout: string;
    rate: { requestsPerMinute?: number; bytes?: string } | null;
  };
  credentials: { name: string; delivery: 'proxy' | 'env'; env: string; ttl: string; methods: string[] | null; pathPrefix: string | null; uses: number | null }[];
  delegation: { allow: string[]; maxDepth: number; maxTasks: number } | null;
  /** MCP servers the agent reaches through Airlock: where each is (a command run in a sandbox of its own, or a URL), its tool rules. */
  mcp: { name: string; runs: string; tools: Record<string, 'allow' | 'ask' | 'deny'>; default: 'allow' | 'ask' | 'deny' }[];
  decoys: { env: string[]; files: string[] };
  onViolation: 'log' | 'stop' | 'freeze';
  maxRefusedRequests: number;
  resources: { cpus: number; memory: string; pids: number };
  timeout: string;
  /** What deserves a second look before approving. */
  warnings: string[];
  /** The same, as the labelled lines both the CLI and the app show (so their words cannot differ either). */
  rows: { label: string; text: string }[];
}

export function approvalSummary(loaded: LoadedManifest): ApprovalSummary {
  const model = summaryModel(loaded);
  return { ...model, rows: rowsOf(model) };
}

function summaryModel(loaded: LoadedManifest): Omit<ApprovalSummary, 'rows'> {
  const { manifest: m, file, digest } = loaded;
  const folder = path.dirname(file);
  const defaults = m.display ? DISPLAY_DEFAULTS : SANDBOX_DEFAULTS;
  const inputs = m.inputs.map((input) => resolveInput(input.from, input.to, folder));
  const env = Object.entries(m.env).map(([name, value]) => {
    const why = secretLooking(name, value);
    return why ? { name, hidden: `${why}, ${value.length} characters` } : { name, value };
  });
  const credentials = m.credentials.map((c) => ({
    name: c.name, delivery: c.delivery, env: c.env,
    ttl: c.ttl ?? `${formatDuration(DEFAULT_TTL_MS)} (or the credential's maximum, if shorter)`,
    methods: c.methods ?? null, pathPrefix: c.pathPrefix ?? null, uses: c.uses ?? null,
  }));
  const rate = m.network.rate;
  const warnings = [
    ...inputs.filter((i) => i.outsideManifestFolder).map((i) => `input ${i.hostPath} is outside the manifest's folder ${folder}`),
    ...inputs.filter((i) => i.missing).map((i) => `input ${i.hostPath} does not exist (yet)`),
    ...credentials.filter((c) => c.delivery === 'env').map((c) => `credential ${c.name} is handed over in plain text ($${c.env}): the agent holds the real secret`),
    ...(m.network.mode === 'open' ? ['network open: the agent may reach any public host'] : []),
  ];
  return {
    name: m.name, ...(m.description !== undefined ? { description: m.description } : {}), file, digest,
    image: m.image ?? (m.display ? DEFAULT_DESKTOP_IMAGE : DEFAULT_IMAGE),
    command: m.command ?? null,
    workdir: m.workdir,
    inputs, env, outputs: [...m.outputs],
    project: m.project ? { to: m.project.to ?? DEFAULT_PROJECT_PATH } : null,
    display: m.display ? {
      width: m.display.width, height: m.display.height,
      screenshotEvery: m.display.screenshotEvery ?? formatDuration(DISPLAY_DEFAULTS.screenshotEveryMs),
    } : null,
    network: {
      mode: m.network.mode, allow: [...m.network.allow], local: [...m.network.local], onUnknownHost: m.network.onUnknownHost,
      registries: parseRegistries(m.network.registries, 'network.registries').map((r) => ({ name: r.name, hosts: [...r.allow, ...r.local.map((l) => `local ${l}`)] })),
      askTimeout: m.network.askTimeout ?? formatDuration(DEFAULT_ASK_TIMEOUT_MS),
      rate: rate ? {
        ...(rate.requestsPerMinute !== undefined ? { requestsPerMinute: rate.requestsPerMinute } : {}),
        ...(rate.bytes !== undefined ? { bytes: formatSize(parseSize(rate.bytes)!) } : {}),
      } : null,
    },
    credentials,
    delegation: m.delegate ? {
      allow: [...m.delegate.allow], maxDepth: m.delegate.maxDepth ?? DELEGATE_DEFAULTS.maxDepth, maxTasks: m.delegate.maxTasks ?? DELEGATE_DEFAULTS.maxTasks,
    } : null,
    mcp: m.mcp.map((server) => ({
      name: server.name, tools: { ...server.tools }, default: server.default,
      runs: server.url !== undefined
        ? `${server.url}${server.credential ? ` with the credential ${server.credential}` : ''}`
        : `${JSON.stringify(server.command)} in a sandbox of its own, network ${server.network.mode === 'none' ? 'none' : `allowlist: ${server.network.allow.join(', ') || '(empty)'}`}`,
    })),
    decoys: { env: [...(m.decoys?.env ?? [])], files: [...(m.decoys?.files ?? [])] },
    onViolation: m.onViolation,
    maxRefusedRequests: m.maxRefusedRequests,
    resources: {
      cpus: m.resources.cpus ?? defaults.cpus,
      memory: formatSize(m.resources.memory !== undefined ? parseSize(m.resources.memory)! : defaults.memoryBytes),
      pids: m.resources.pids ?? defaults.pids,
    },
    timeout: m.timeout ?? formatDuration(SANDBOX_DEFAULTS.timeoutMs),
    warnings,
  };
}

function rowsOf(s: Omit<ApprovalSummary, 'rows'>): ApprovalSummary['rows'] {
  const list = (items: string[], none = 'none') => items.join(', ') || none;
  const net = s.network;
  const rate = net.rate ? [net.rate.requestsPerMinute !== undefined ? `${net.rate.requestsPerMinute}/min` : '', net.rate.bytes ?? ''].filter(Boolean).join(', ') : '';
  const network = net.mode === 'none' ? 'none' : [
    net.mode === 'open' ? 'open (any public host)' : `allowlist: ${list([...net.allow, ...net.local.map((l) => `local ${l}`)], '(empty)')}`,
    ...(net.registries.length > 0 ? [`package registries: ${net.registries.map((r) => `${r.name} (${r.hosts.join(', ')})`).join(', ')}`] : []),
    net.onUnknownHost === 'ask' ? `asks about other hosts (waits ${net.askTimeout})` : 'other hosts refused',
    ...(rate ? [`rate ${rate}`] : []),
  ].join('; ');
  const credential = (c: ApprovalSummary['credentials'][number]) => `${c.name}: ${c.delivery === 'env' ? 'the real secret' : 'a placeholder'} in $${c.env}, ttl ${c.ttl}`
    + `${c.methods ? `, methods ${c.methods.join('/')}` : ''}${c.pathPrefix ? `, path ${c.pathPrefix}*` : ''}${c.uses !== null ? `, ${c.uses} uses` : ''}`;
  return [
    { label: 'manifest', text: `${s.file} (${s.digest})` },
    { label: 'image', text: s.image },
    { label: 'command', text: `${s.command ? JSON.stringify(s.command) : "(the image's)"}   workdir: ${s.workdir}` },
    { label: 'inputs', text: list(s.inputs.map((i) => `${i.outsideManifestFolder ? '⚠ ' : ''}${i.hostPath} → ${i.to}`)) },
    { label: 'outputs', text: list(s.outputs) },
    { label: 'project', text: s.project ? `a working copy of the folder the run names (--project; a kit: the current folder) → ${s.project.to}, writable` : 'none' },
    { label: 'env', text: list(s.env.map((e) => (e.value !== undefined ? `${e.name}=${e.value}` : `${e.name}=(hidden: ${e.hidden ?? 'looks secret'})`))) },
    { label: 'network', text: network },
    { label: 'credentials', text: list(s.credentials.map(credential)) },
    ...(s.mcp.length > 0 ? [{ label: 'mcp servers', text: s.mcp.map((server) => `${server.name}: ${server.runs}; tools ${Object.entries(server.tools).map(([tool, rule]) => `${tool} ${rule}`).join(', ') || '(none listed)'}, others ${server.default}`).join(' | ') }] : []),
    { label: 'delegates', text: s.delegation ? `${list(s.delegation.allow)} (depth ≤ ${s.delegation.maxDepth}, ≤ ${s.delegation.maxTasks} tasks)` : 'none' },
    { label: 'decoys', text: list([...s.decoys.env.map((e) => `$${e}`), ...s.decoys.files]) },
    { label: 'display', text: s.display ? `${s.display.width}×${s.display.height} with a browser, a screenshot every ${s.display.screenshotEvery}` : 'none' },
    { label: 'resources', text: `${s.resources.cpus} cpu · ${s.resources.memory} · ${s.resources.pids} pids   timeout: ${s.timeout}` },
    { label: 'on violation', text: `${s.onViolation} (a violation too: more than ${s.maxRefusedRequests} refused requests)` },
  ];
}

/** Where an input really is: relative to the manifest, with every symlink on the way followed. */
function resolveInput(from: string, to: string, folder: string): ApprovalSummary['inputs'][number] {
  const absolute = path.resolve(folder, from);
  let hostPath = absolute;
  let missing = false;
  try {
    hostPath = fs.realpathSync(absolute);
  } catch {
    missing = true;
  }
  let realFolder = folder;
  try {
    realFolder = fs.realpathSync(folder);
  } catch {
    // the manifest was just read from there; keep the path as given
  }
  const outsideManifestFolder = !isWithin(absolute, folder) || !isWithin(hostPath, realFolder);
  return { from, hostPath, to, outsideManifestFolder, missing };
}

function isWithin(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

const SECRET_NAME = /(secret|token|passw|pwd|api_?key|private|credential|auth|cookie|session|signature|(^|_)key$)/i;
const SECRET_VALUE = /^(sk-|sk_|rk_|pk_live|ghp_|gho_|ghs_|github_pat_|glpat-|xox[abpr]-|AKIA[0-9A-Z]{12}|AIza|eyJ[A-Za-z0-9_-]{8,}\.|-----BEGIN)/;

/** Why a manifest env value should not be shown, or undefined when it may be. */
function secretLooking(name: string, value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (SECRET_NAME.test(name)) return 'its name says secret';
  if (SECRET_VALUE.test(value)) return 'it looks like a key or token';
  // Long runs of mixed letters and digits without spaces: most likely a key.
  if (value.length >= 20 && /^[A-Za-z0-9+/=_.-]+$/.test(value) && /[0-9]/.test(value) && /[A-Za-z]/.test(value)) return 'it looks like a key or token';
  return undefined;
}
