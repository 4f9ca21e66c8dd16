import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { AgentSummary, CredentialSummary, IpcError, RunRequest } from '../../../preload/contract';
import { ErrorPanel, ProgressBar } from '../components/common';
import { NO_FILES, requestFiles, RunFiles, type RunFilesChoice } from '../components/RunFiles';
import { api, describeError } from '../lib/api';
import { formatDuration, parseDuration, parseSize } from '../lib/format';
import { navigate } from '../lib/route';
import { useAgentsStore } from '../store/agents';
import { useAppStore } from '../store/app';
import { buildKitImage, missingKitVersion } from '../store/kit-image';
import { useTasksStore } from '../store/tasks';

type NetworkChoice = 'manifest' | 'none' | 'allowlist' | 'open';
const HOST = /^(?:\*\.)?[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::\d{1,5})?$/i;
const DEFAULT_TTL_MS = 15 * 60_000;

interface Lend {
  on: boolean;
  ttlMs: number;
}

/** The slider of one credential: whole minutes up to its maximum (seconds when that is short). */
function sliderOf(maxTtlMs: number): { min: number; step: number } {
  const step = maxTtlMs >= 10 * 60_000 ? 60_000 : 1000;
  return { min: Math.min(step, maxTtlMs), step };
}

/** What the dialog lends at first: the manifest's credentials (at their TTL), each capped at its maximum. */
function initialLends(stored: CredentialSummary[], agent: AgentSummary): Record<string, Lend> {
  const lends: Record<string, Lend> = {};
  for (const c of stored) {
    const asked = agent.credentials?.find((m) => m.name === c.name);
    const wanted = asked?.ttl !== undefined ? parseDuration(asked.ttl) : undefined;
    lends[c.name] = { on: asked !== undefined, ttlMs: Math.min(wanted ?? DEFAULT_TTL_MS, c.maxTtlMs) };
  }
  return lends;
}

/** The terminal an interactive run from the app starts with; the Terminal tab resizes it to its own when it takes control. */
const TERMINAL_SIZE = { cols: 120, rows: 32 } as const;

export function RunDialog({ agent }: { agent: AgentSummary }) {
  const close = () => useAgentsStore.getState().openRunDialog(null);
  const run = useTasksStore((s) => s.run);
  const manifestMode = agent.network?.mode ?? 'none';
  const [network, setNetwork] = useState<NetworkChoice>('manifest');
  const [hosts, setHosts] = useState<string[]>(agent.network?.allow ?? []);
  const [newHost, setNewHost] = useState('');
  const [env, setEnv] = useState<{ name: string; value: string }[]>([]);
  const [timeout, setTimeoutText] = useState('');
  const [cpus, setCpus] = useState('');
  const [memory, setMemory] = useState('');
  const [budgetUsd, setBudgetUsd] = useState('');
  /** Kits only: another endpoint (a company gateway) instead of the provider's. */
  const [endpoint, setEndpoint] = useState('');
  /**
   * An interactive session: the agent's program gets a terminal, shown in the task's Terminal tab
   * (Take control to type). On by default for a kit: the tools are full-screen programs.
   */
  const canHaveTerminal = !agent.review?.display;
  const [interactive, setInteractive] = useState(Boolean(agent.kit) && canHaveTerminal);
  const [error, setError] = useState<IpcError | null>(null);
  /** The project, inputs and output folder the person chose (tokens; main keeps the paths). */
  const [files, setFiles] = useState<RunFilesChoice>(NO_FILES);
  const [busy, setBusy] = useState(false);
  /** A kit's first run: its image is being built, then the run starts. */
  const [buildingImage, setBuildingImage] = useState(false);
  const image = useAppStore((s) => s.image);
  const [stored, setStored] = useState<CredentialSummary[] | null>(null);
  const [storedError, setStoredError] = useState<IpcError | null>(null);
  const [lends, setLends] = useState<Record<string, Lend>>({});
  const manifestCreds = agent.credentials ?? [];
  const first = useRef<HTMLInputElement>(null);
  /** Cleared when the dialog closes: a build it started goes on, but Cancel means no run after it. */
  const open = useRef(true);
  useEffect(() => {
    open.current = true;
    return () => {
      open.current = false;
    };
  }, []);

  useEffect(() => {
    first.current?.focus();
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && close();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  useEffect(() => {
    let live = true;
    api.credentials.list().then((list) => {
      if (!live) return;
      setStored(list);
      setLends(initialLends(list, agent));
    }, (caught: unknown) => live && setStoredError(describeError(caught)));
    return () => {
      live = false;
    };
  }, [agent]);

  const setLend = (name: string, change: Partial<Lend>) => setLends((all) => ({ ...all, [name]: { ...all[name]!, ...change } }));

  const addHost = () => {
    const host = newHost.trim().toLowerCase();
    if (!HOST.test(host)) {
      setError({ code: 'bad_argument', message: `'${newHost}' is not a host, *.domain or host:port`, hint: 'e.g. api.github.com, *.githubusercontent.com or host:8443' });
      return;
    }
    if (!hosts.includes(host)) setHosts([...hosts, host]);
    setNewHost('');
    setError(null);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const request: RunRequest = { agentId: agent.id, ...requestFiles(files) };
    if (network === 'none' || network === 'open') request.network = { mode: network };
    if (network === 'allowlist') request.network = { mode: 'allowlist', allow: hosts };
    if (agent.kit && endpoint.trim()) {
      if (network !== 'manifest') return setError({ code: 'bad_argument', message: 'an endpoint sets the network of the run (exactly its host and port)', hint: 'choose "As in the manifest", or clear the endpoint' });
      request.endpoint = endpoint.trim();
    }
    const filled = env.filter((v) => v.name.trim() !== '');
    if (filled.length > 0) request.env = filled.map((v) => ({ name: v.name.trim(), value: v.value }));
    // Text is parsed here, at the edge: the engine takes milliseconds and bytes.
    if (timeout.trim()) {
      const timeoutMs = parseDuration(timeout);
      if (timeoutMs === undefined) return setError({ code: 'bad_argument', message: `timeout: '${timeout.trim()}' is not a duration`, hint: 'write e.g. 30s, 10m or 1h' });
      request.timeoutMs = timeoutMs;
    }
    if (cpus.trim()) request.cpus = Number(cpus);
    if (memory.trim()) {
      const memoryBytes = parseSize(memory);
      if (memoryBytes === undefined) return setError({ code: 'bad_argument', message: `memory: '${memory.trim()}' is not a size`, hint: 'write e.g. 512m or 1g' });
      request.memoryBytes = memoryBytes;
    }
    if (budgetUsd.trim()) {
      const usd = /^\$?\d+(?:\.\d+)?$/.test(budgetUsd.trim()) ? Number(budgetUsd.trim().replace('$', '')) : NaN;
      if (!(usd > 0 && usd <= 1e6)) return setError({ code: 'bad_argument', message: `budget: '${budgetUsd.trim()}' is not an amount in USD`, hint: 'write e.g. 2 or 0.50' });
      request.budget = { usd };
    }
    const lent = Object.entries(lends).filter(([, lend]) => lend.on).map(([name, lend]) => ({ name, ttlMs: lend.ttlMs }));
    if (lent.length > 0) request.credentials = lent;
    if (interactive && canHaveTerminal) request.terminal = { ...TERMINAL_SIZE };
    setBusy(true);
    setError(null);
    try {
      // A kit's image is built on its first run, here as with `airlock run <kit>`; then the run goes on.
      // (Not when its credential is missing: the run is refused first, saying which command adds it.)
      const credentialStored = stored?.some((c) => c.name === agent.kit?.credential) ?? true;
      const kitName = agent.kit?.name;
      const missing = kitName !== undefined && credentialStored ? await missingKitVersion(kitName) : undefined;
      if (kitName !== undefined && missing !== undefined) {
        setBuildingImage(true);
        try {
          await buildKitImage(kitName, missing);
        } finally {
          setBuildingImage(false);
        }
        if (!open.current) return;
      }
      const task = await run(request);
      close();
      navigate({ screen: 'task', task });
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="overlay" role="presentation" onMouseDown={(e) => e.target === e.currentTarget && close()}>
      <form className="dialog" role="dialog" aria-modal="true" aria-labelledby="run-title" onSubmit={(e) => void submit(e)}>
        <h2 id="run-title">Run {agent.name}</h2>
        {agent.description && <p className="muted">{agent.description}</p>}

        {agent.kit && (
          <fieldset>
            <legend>Endpoint</legend>
            <label>Endpoint <input aria-label="Endpoint" placeholder={agent.kit.endpoint} value={endpoint} onChange={(e) => setEndpoint(e.target.value)} /></label>
            <p className="muted small">
              Empty: {agent.kit.endpoint}. Another https:// URL (a company gateway) replaces the network with exactly that host and port, and
              lends {agent.kit.credential} there only if the stored credential is for that host.
            </p>
          </fieldset>
        )}

        {canHaveTerminal && (
          <label className="checkbox">
            <input type="checkbox" aria-label="Interactive session" checked={interactive} onChange={(e) => setInteractive(e.target.checked)} />
            Interactive session: the agent gets a terminal, live in its Terminal tab (Take control to type)
          </label>
        )}

        <RunFiles takesProject={Boolean(agent.review?.project)} projectTo={agent.review?.project?.to} choice={files} onChange={setFiles} onError={setError} />

        <fieldset>
          <legend>Network</legend>
          {(['manifest', 'none', 'allowlist', 'open'] as NetworkChoice[]).map((choice) => (
            <label key={choice} className="radio">
              <input ref={choice === 'manifest' ? first : undefined} type="radio" name="network" value={choice} checked={network === choice} onChange={() => setNetwork(choice)} />
              {choice === 'manifest' ? `As in the manifest (${manifestMode})` : choice === 'none' ? 'None: loopback only' : choice === 'allowlist' ? 'Allowlist: only the hosts below' : 'Open: every public host, through the gateway'}
            </label>
          ))}
          {network === 'allowlist' && (
            <div className="allowlist">
              {hosts.length === 0 && <p className="muted small">No hosts yet: the agent could reach nothing.</p>}
              <ul>
                {hosts.map((host) => (
                  <li key={host}><code>{host}</code> <button type="button" className="link" aria-label={`Remove ${host}`} onClick={() => setHosts(hosts.filter((h) => h !== host))}>remove</button></li>
                ))}
              </ul>
              <div className="inline">
                <input aria-label="Host to allow" placeholder="api.example.com, *.example.com or host:8443" value={newHost} onChange={(e) => setNewHost(e.target.value)} onKeyDown={(e) => { if (e.key === 'Enter') { e.preventDefault(); addHost(); } }} />
                <button type="button" className="secondary" onClick={addHost}>Add</button>
              </div>
            </div>
          )}
          {network === 'open' && <p className="warn-text small">Open lets the agent reach any public host. Every request is still checked against private addresses and logged.</p>}
          {agent.network?.onUnknownHost === 'ask' && network !== 'none' && <p className="muted small">Requests to other hosts will ask you first (a notification in this window).</p>}
        </fieldset>

        <fieldset className="creds">
          <legend>Credentials</legend>
          {storedError ? (
            <p className="muted small">Stored credentials cannot be listed: {storedError.message}{manifestCreds.length > 0 ? ` The manifest asks for ${manifestCreds.map((c) => c.name).join(', ')}.` : ''}</p>
          ) : stored === null ? (
            <p className="muted small">Reading the stored credentials…</p>
          ) : stored.length === 0 && manifestCreds.length === 0 ? (
            <p className="muted small">No credentials stored. Add one under Credentials to lend it to a task; the agent only ever sees a placeholder.</p>
          ) : (
            <>
              <p className="muted small">Each one lent is revoked when its time runs out or the task ends. The agent sees a placeholder, never the secret.</p>
              {stored.map((c) => {
                const lend = lends[c.name] ?? { on: false, ttlMs: Math.min(DEFAULT_TTL_MS, c.maxTtlMs) };
                const asked = manifestCreds.some((m) => m.name === c.name);
                const { min, step } = sliderOf(c.maxTtlMs);
                return (
                  <div key={c.name} className="cred-row" data-lend={c.name}>
                    <label title={asked ? 'the manifest asks for it: it is always lent' : undefined}>
                      <input type="checkbox" checked={lend.on} disabled={asked} onChange={(e) => setLend(c.name, { on: e.target.checked })} aria-label={`Lend ${c.name}`} />
                      <strong>{c.name}</strong>
                    </label>
                    <input type="range" min={min} max={c.maxTtlMs} step={step} value={lend.ttlMs} disabled={!lend.on}
                      onChange={(e) => setLend(c.name, { ttlMs: Math.min(c.maxTtlMs, Number(e.target.value)) })}
                      aria-label={`${c.name} lifetime`} aria-valuetext={formatDuration(lend.ttlMs)} />
                    <span className="ttl small">{formatDuration(lend.ttlMs)} <span className="muted">/ max {formatDuration(c.maxTtlMs)}</span></span>
                    <span className="cred-hosts muted small">{asked ? 'asked for by the manifest · ' : ''}for {c.hosts.join(', ')}</span>
                  </div>
                );
              })}
              {manifestCreds.filter((m) => !stored.some((c) => c.name === m.name)).map((m) => (
                <p key={m.name} className="warn-text small">The manifest asks for {m.name}, which is not stored: add it under Credentials, or the run is refused.</p>
              ))}
            </>
          )}
        </fieldset>

        <fieldset>
          <legend>Limits and environment</legend>
          <div className="grid-3">
            <label>Timeout <input placeholder={agent.timeout ?? '10m'} value={timeout} onChange={(e) => setTimeoutText(e.target.value)} /></label>
            <label>CPUs <input inputMode="decimal" placeholder={String(agent.resources?.cpus ?? 1)} value={cpus} onChange={(e) => setCpus(e.target.value)} /></label>
            <label>Memory <input placeholder={agent.resources?.memory ?? '512m'} value={memory} onChange={(e) => setMemory(e.target.value)} /></label>
            <label title="What this task and every task it starts may spend on model calls (estimated from the price table)">Budget (USD) <input inputMode="decimal" placeholder="manifest's" value={budgetUsd} onChange={(e) => setBudgetUsd(e.target.value)} data-budget-usd /></label>
          </div>
          {env.map((v, i) => (
            <div className="inline" key={i}>
              <input aria-label="Variable name" placeholder="NAME" value={v.name} onChange={(e) => setEnv(env.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))} />
              <input aria-label="Variable value" placeholder="value" value={v.value} onChange={(e) => setEnv(env.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))} />
              <button type="button" className="link" onClick={() => setEnv(env.filter((_, j) => j !== i))}>remove</button>
            </div>
          ))}
          <button type="button" className="link" onClick={() => setEnv([...env, { name: '', value: '' }])}>+ environment variable</button>
        </fieldset>

        {buildingImage && (
          <div className="build-progress" data-kit-build>
            <p className="small">The first run of {agent.name} builds its image{image?.ref ? ` ${image.ref}` : ''} from the npm registry; the run starts when it is ready.</p>
            <ProgressBar percent={image?.state === 'building' ? image.percent : undefined} label="Image build progress" />
            {image?.state === 'building' && <p className="small"><strong>{image.phase}</strong> {image.message}</p>}
          </div>
        )}
        {error && <ErrorPanel error={error} />}
        <footer className="dialog-foot">
          <button type="button" className="secondary" onClick={close}>Cancel</button>
          <button type="submit" disabled={busy} data-start>{buildingImage ? 'Building image…' : busy ? 'Starting…' : 'Run'}</button>
        </footer>
      </form>
    </div>
  );
}
