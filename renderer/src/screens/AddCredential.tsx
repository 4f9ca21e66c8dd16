import { useEffect, useState, type FormEvent } from 'react';
import type { CredentialInjection, CredentialPresetInfo, IpcError } from '../../../preload/contract';
import { ErrorPanel } from '../components/common';
import { api, describeError } from '../lib/api';
import { parseDuration } from '../lib/format';

type InjectionKind = CredentialInjection['kind'];
const DEFAULT_TEMPLATE = 'Authorization: Bearer {secret}';

/**
 * Adds a credential: a provider's preset fills hosts and injection (each still editable); the
 * secret goes straight to the keychain and leaves the page as soon as it is stored.
 */
export function AddCredential({ disabled, onAdded }: { disabled: boolean; onAdded: () => Promise<void> }) {
  const [presets, setPresets] = useState<CredentialPresetInfo[]>([]);
  const [preset, setPreset] = useState('');
  const [name, setName] = useState('');
  const [hosts, setHosts] = useState('');
  const [kind, setKind] = useState<InjectionKind>('header');
  const [template, setTemplate] = useState(DEFAULT_TEMPLATE);
  const [param, setParam] = useState('key');
  const [basicUser, setBasicUser] = useState('');
  const [maxTtl, setMaxTtl] = useState('1h');
  const [description, setDescription] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<IpcError | null>(null);
  useEffect(() => {
    api.credentials.presets().then(setPresets, () => setPresets([]));
  }, []);

  const choosePreset = (chosen: string) => {
    setPreset(chosen);
    const found = presets.find((p) => p.name === chosen);
    if (!found) return;
    if (!name.trim()) setName(found.name);
    setHosts(found.hosts.join(', '));
    setDescription(found.description);
    setKind(found.inject.kind);
    if (found.inject.kind === 'header') setTemplate(found.inject.template);
    if (found.inject.kind === 'query') setParam(found.inject.param);
    if (found.inject.kind === 'basic') setBasicUser(found.inject.user ?? '');
  };
  const injection = (): CredentialInjection => kind === 'header' ? { kind, template }
    : kind === 'query' ? { kind, param: param.trim() }
      : basicUser.trim() ? { kind, user: basicUser.trim() } : { kind };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const maxTtlMs = parseDuration(maxTtl);
    if (maxTtlMs === undefined) {
      setError({ code: 'bad_argument', message: `max lifetime: '${maxTtl}' is not a duration`, hint: 'write e.g. 15m or 1h' });
      return;
    }
    try {
      await api.credentials.add({ name: name.trim(), secret, hosts: hosts.split(/[\s,]+/).filter(Boolean), inject: injection(), maxTtlMs, ...(description.trim() ? { description: description.trim() } : {}) });
      setSecret(''); // the value leaves the page as soon as it is stored
      setName('');
      setHosts('');
      setPreset('');
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
          <label>Preset
            <select value={preset} onChange={(e) => choosePreset(e.target.value)} data-preset-picker>
              <option value="">none: fill in below</option>
              {presets.map((p) => <option key={p.name} value={p.name}>{p.name}: {p.description}</option>)}
            </select>
          </label>
          <label>Name <input required value={name} onChange={(e) => setName(e.target.value)} placeholder="vendor-api" /></label>
          <label>Hosts <input required value={hosts} onChange={(e) => setHosts(e.target.value)} placeholder="api.vendor.com, *.vendor.com" /></label>
          <label>Goes into
            <select value={kind} onChange={(e) => setKind(e.target.value as InjectionKind)}>
              <option value="header">a header</option>
              <option value="query">a query parameter</option>
              <option value="basic">Basic authorization (the password)</option>
            </select>
          </label>
          {kind === 'header' && <label>Header template <input value={template} onChange={(e) => setTemplate(e.target.value)} placeholder={DEFAULT_TEMPLATE} /></label>}
          {kind === 'query' && <label>Query parameter <input required value={param} onChange={(e) => setParam(e.target.value)} placeholder="key" /></label>}
          {kind === 'basic' && <label>Basic user <input value={basicUser} onChange={(e) => setBasicUser(e.target.value)} placeholder="the user the client sends" /></label>}
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
