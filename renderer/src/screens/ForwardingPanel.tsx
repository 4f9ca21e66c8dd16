import { useEffect, useState, type FormEvent } from 'react';
import type { ForwarderStatus, IpcError, PickedFile } from '../../../preload/contract';
import { Badge, ErrorPanel, type BadgeTone } from '../components/common';
import { api, describeError } from '../lib/api';
import { dateTime, formatDuration, parseDuration } from '../lib/format';

/** How often the panel asks for each forwarder's lag. */
const REFRESH_MS = 2000;
const STATE_TONE: Record<ForwarderStatus['state'], BadgeTone> = { 'caught-up': 'ok', sending: 'info', retrying: 'warn', stopped: 'muted' };
type Kind = ForwarderStatus['kind'];
const URL_PLACEHOLDER: Record<Kind, string> = { 'otlp-http': 'https://collector.example:4318/v1/logs', 'syslog-tls': 'tls://syslog.example:6514', webhook: 'https://siem.example/airlock' };
const list = (text: string) => text.split(/[\s,]+/).filter(Boolean);

/**
 * The Audit screen's forwarders (README "Forwarding the audit trail"): each one's state and lag,
 * refreshed every 2 s, a form to add one and a remove button. A collector's error is shown as
 * text; the secret goes straight to the keychain and leaves the page when submitted.
 */
export function ForwardingPanel() {
  const [forwarders, setForwarders] = useState<ForwarderStatus[] | null>(null);
  const [error, setError] = useState<IpcError | null>(null);
  const load = async () => {
    try {
      setForwarders(await api.audit['forward.list']());
      setError(null);
    } catch (caught) {
      setError(describeError(caught));
    }
  };
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  const remove = async (name: string) => {
    if (!window.confirm(`Remove the forwarder ${name}? It stops sending, and its cursor and keychain secret are deleted.`)) return;
    try {
      await api.audit['forward.remove']({ name });
      await load();
    } catch (caught) {
      setError(describeError(caught));
    }
  };
  return (
    <section className="panel forwarding" aria-label="Forwarding">
      <h2>Forwarding</h2>
      {error && <ErrorPanel error={error} />}
      {forwarders && forwarders.length === 0 && <p className="muted">No forwarder: the trail stays on this machine. Add one below to stream it to your collector.</p>}
      {forwarders && forwarders.length > 0 && (
        <div className="table-wrap">
          <table className="table">
            <thead><tr><th>Name</th><th>Kind</th><th>URL</th><th>State</th><th>Acknowledged</th><th>Lag</th><th>Last error</th><th>Signed head sent</th><th /></tr></thead>
            <tbody>
              {forwarders.map((f) => (
                <tr key={f.name} data-forwarder={f.name}>
                  <td><strong>{f.name}</strong></td>
                  <td className="mono small" data-kind>{f.kind}{f.encoding ? ` (${f.encoding})` : ''}</td>
                  <td className="mono small" data-url>{f.url}</td>
                  <td><Badge tone={STATE_TONE[f.state]}><span data-state>{f.state}</span></Badge></td>
                  <td className="small">{f.acked ? `#${f.acked.n} · ${dateTime(f.acked.time)}` : 'none yet'}</td>
                  <td className="small">{f.lag.records.toLocaleString()} records · {formatDuration(f.lag.ms)}</td>
                  <td className="small">{f.lastError ? `${f.lastError.message} (${dateTime(f.lastError.at)})` : ''}</td>
                  <td className="small">{f.headSent ? `#${f.headSent.n} · ${dateTime(f.headSent.at)}` : 'none yet'}</td>
                  <td><button type="button" className="link" onClick={() => void remove(f.name)}>Remove</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <AddForwarder onAdded={load} />
    </section>
  );
}

function AddForwarder({ onAdded }: { onAdded: () => Promise<void> }) {
  const [kind, setKind] = useState<Kind>('otlp-http');
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [encoding, setEncoding] = useState<'protobuf' | 'json'>('protobuf');
  const [ca, setCa] = useState<PickedFile | null>(null);
  const [header, setHeader] = useState('Authorization');
  const [scheme, setScheme] = useState('Bearer');
  const [secret, setSecret] = useState('');
  const [kinds, setKinds] = useState('');
  const [decisions, setDecisions] = useState<'' | 'allow' | 'deny'>('');
  const [agents, setAgents] = useState('');
  const [headEvery, setHeadEvery] = useState('60s');
  const [error, setError] = useState<IpcError | null>(null);

  const chooseCa = async () => {
    try {
      const [picked] = await api.run.pickInputs({ folders: false });
      if (picked) setCa(picked);
    } catch (caught) {
      setError(describeError(caught));
    }
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const headEveryMs = parseDuration(headEvery);
    if (headEveryMs === undefined) {
      setError({ code: 'bad_argument', message: `signed head every: '${headEvery}' is not a duration`, hint: 'write e.g. 60s or 5m' });
      return;
    }
    const filter = {
      ...(list(kinds).length ? { kinds: list(kinds) } : {}),
      ...(decisions ? { decisions: [decisions] } : {}),
      ...(list(agents).length ? { agents: list(agents) } : {}),
    };
    try {
      await api.audit['forward.create']({
        name: name.trim(), kind, url: url.trim(), headEveryMs,
        ...(kind === 'otlp-http' ? { encoding } : {}),
        ...(ca ? { ca: { token: ca.token } } : {}),
        ...(kind !== 'syslog-tls' && secret ? { auth: { header: header.trim(), scheme: scheme.trim() } } : {}),
        ...(Object.keys(filter).length ? { filter } : {}),
      }, secret ? { secret } : {});
      setSecret(''); // the value leaves the page as soon as it is stored
      setName('');
      setUrl('');
      setCa(null);
      setError(null);
      await onAdded();
    } catch (caught) {
      setSecret('');
      setError(describeError(caught));
    }
  };
  return (
    <form className="form" onSubmit={(e) => void submit(e)} aria-label="Add a forwarder">
      <h3>Add a forwarder</h3>
      <div className="grid-2">
        <label>Kind
          <select aria-label="Kind" value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
            <option value="otlp-http">OTLP logs over HTTPS</option>
            <option value="syslog-tls">syslog over TLS (RFC 5424)</option>
            <option value="webhook">HTTPS webhook (JSON lines)</option>
          </select>
        </label>
        <label>Name <input required value={name} onChange={(e) => setName(e.target.value)} placeholder="siem" /></label>
        <label>URL <input required value={url} onChange={(e) => setUrl(e.target.value)} placeholder={URL_PLACEHOLDER[kind]} /></label>
        {kind === 'otlp-http' && (
          <label>Encoding
            <select aria-label="Encoding" value={encoding} onChange={(e) => setEncoding(e.target.value as 'protobuf' | 'json')}>
              <option value="protobuf">protobuf</option>
              <option value="json">JSON</option>
            </select>
          </label>
        )}
        <label>CA file (besides the system's)
          <span className="button-row">
            <button type="button" className="secondary" onClick={() => void chooseCa()}>Choose…</button>
            {ca && <span className="small mono">{ca.name} <button type="button" className="link" onClick={() => setCa(null)}>clear</button></span>}
          </span>
        </label>
        {kind !== 'syslog-tls' && <label>Header <input value={header} onChange={(e) => setHeader(e.target.value)} placeholder="Authorization" /></label>}
        {kind !== 'syslog-tls' && <label>Scheme <input value={scheme} onChange={(e) => setScheme(e.target.value)} placeholder="Bearer (empty: none)" /></label>}
        <label>{kind === 'syslog-tls' ? 'Client key (PEM)' : 'Secret'} <input type="password" autoComplete="off" spellCheck={false} value={secret} onChange={(e) => setSecret(e.target.value)} data-forwarder-secret /></label>
        <label>Only kinds <input value={kinds} onChange={(e) => setKinds(e.target.value)} placeholder="net.*, cred.denied (empty: all)" /></label>
        <label>Only decisions
          <select aria-label="Only decisions" value={decisions} onChange={(e) => setDecisions(e.target.value as '' | 'allow' | 'deny')}>
            <option value="">any</option>
            <option value="allow">allowed</option>
            <option value="deny">refused</option>
          </select>
        </label>
        <label>Only agents <input value={agents} onChange={(e) => setAgents(e.target.value)} placeholder="agent names (empty: all)" /></label>
        <label>Signed head every <input value={headEvery} onChange={(e) => setHeadEvery(e.target.value)} placeholder="60s" /></label>
      </div>
      <p className="muted small">The secret goes straight to the OS keychain and is never shown again. Records left out by a filter are sent as skipped ranges, so the collector can still check that nothing is missing.</p>
      <button type="submit">Add forwarder</button>
      {error && <ErrorPanel error={error} />}
    </form>
  );
}
