import { useEffect, useState } from 'react';
import type { CredentialSummary, IpcError } from '../../../preload/contract';
import { EmptyState, ErrorPanel } from '../components/common';
import { api, describeError } from '../lib/api';
import { describeInjection } from '../../../main/core/text/injection-display';
import { formatDuration } from '../lib/format';
import { AddCredential } from './AddCredential';

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
                <thead><tr><th>Name</th><th>Hosts</th><th>Goes into</th><th>Max lifetime</th><th>Value</th><th /></tr></thead>
                <tbody>
                  {list.map((c) => (
                    <tr key={c.name}>
                      <td><strong>{c.name}</strong>{c.description && <div className="muted small">{c.description}</div>}</td>
                      <td className="mono small">{c.hosts.join(', ')}</td>
                      <td className="mono small">{describeInjection(c.inject)}</td>
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
