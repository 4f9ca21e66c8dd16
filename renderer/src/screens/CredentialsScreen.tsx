import { useEffect, useState, type FormEvent } from 'react';
import type { CredentialSummary, IpcError } from '../../../preload/contract';
import { EmptyState, ErrorPanel } from '../components/common';
import { api, describeError } from '../lib/api';
import { formatDuration, parseDuration } from '../lib/format';

/**
 * Credentials: add (the secret goes to the OS keychain and never comes back), list, remove.
 * No value is ever shown: the main process has none to give.
 */
export function CredentialsScreen() {
  const [list, setList] = useState<CredentialSummary[] | null>(null);
  const [loadError, setLoadError] = useState<IpcError | null>(null);
  const load = async () => {
    try {
      setList(await api.credentials.list());
      setLoadError(null);
    } catch (error) {
      setLoadError(describeError(error));
    }
  };
  useEffect(() => {
    void load();
  }, []);
  const remove = async (name: string) => {
    if (!window.confirm(`Remove the credential ${name}? Its secret is deleted from the keychain.`)) return;
    try {
      await api.credentials.remove(name);
      await load();
    } catch (error) {
      setLoadError(describeError(error));
    }
  };
  const unavailable = loadError !== null && list === null;
  return (
    <div>
      <header className="screen-head"><h1>Credentials</h1></header>
      {unavailable ? (
        <EmptyState title="Credentials are not available here yet">
          <p>{loadError.message}</p>
          {loadError.hint && <p className="hint">{loadError.hint}</p>}
        </EmptyState>
      ) : (
        <>
          {loadError && <ErrorPanel error={loadError} />}
          {list && list.length === 0 && <p className="muted">No credentials yet. Add one below; agents get it only when you lend it to a task, for a limited time.</p>}
          {list && list.length > 0 && (
            <div className="table-wrap">
              <table className="table">
                <thead><tr><th>Name</th><th>Hosts</th><th>Header</th><th>Max lifetime</th><th>Value</th><th /></tr></thead>
                <tbody>
                  {list.map((c) => (
                    <tr key={c.name}>
                      <td><strong>{c.name}</strong>{c.description && <div className="muted small">{c.description}</div>}</td>
                      <td className="mono small">{c.hosts.join(', ')}</td>
                      <td className="mono small">{c.header}</td>
                      <td>{formatDuration(c.maxTtlMs)}</td>
                      <td className="muted">in the keychain</td>
                      <td><button type="button" className="link" onClick={() => void remove(c.name)}>Remove</button></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
      <AddCredential disabled={unavailable} onAdded={load} />
    </div>
  );
}

function AddCredential({ disabled, onAdded }: { disabled: boolean; onAdded: () => Promise<void> }) {
  const [name, setName] = useState('');
  const [hosts, setHosts] = useState('');
  const [header, setHeader] = useState('Authorization: Bearer {secret}');
  const [maxTtl, setMaxTtl] = useState('1h');
  const [description, setDescription] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<IpcError | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const maxTtlMs = parseDuration(maxTtl);
    if (maxTtlMs === undefined) {
      setError({ code: 'bad_argument', message: `max lifetime: '${maxTtl}' is not a duration`, hint: 'write e.g. 15m or 1h' });
      return;
    }
    try {
      await api.credentials.add({ name: name.trim(), secret, hosts: hosts.split(/[\s,]+/).filter(Boolean), header, maxTtlMs, ...(description.trim() ? { description: description.trim() } : {}) });
      setSecret(''); // the value leaves the page as soon as it is stored
      setName('');
      setHosts('');
      setError(null);
      await onAdded();
    } catch (caught) {
      setSecret('');
      setError(describeError(caught));
    }
  };
  return (
    <form className="panel form" onSubmit={(e) => void submit(e)} aria-label="Add a credential">
      <h2>Add a credential</h2>
      <fieldset disabled={disabled}>
        <div className="grid-2">
          <label>Name <input required value={name} onChange={(e) => setName(e.target.value)} placeholder="vendor-api" /></label>
          <label>Hosts <input required value={hosts} onChange={(e) => setHosts(e.target.value)} placeholder="api.vendor.com, *.vendor.com" /></label>
          <label>Header <input value={header} onChange={(e) => setHeader(e.target.value)} /></label>
          <label>Max lifetime <input value={maxTtl} onChange={(e) => setMaxTtl(e.target.value)} placeholder="1h" /></label>
          <label>Description <input value={description} onChange={(e) => setDescription(e.target.value)} /></label>
          <label>Secret <input required type="password" autoComplete="off" spellCheck={false} value={secret} onChange={(e) => setSecret(e.target.value)} /></label>
        </div>
        <p className="muted small">The secret goes straight to the OS keychain. Airlock never shows it again, here or anywhere.</p>
        <button type="submit">Add credential</button>
      </fieldset>
      {error && <ErrorPanel error={error} />}
    </form>
  );
}
