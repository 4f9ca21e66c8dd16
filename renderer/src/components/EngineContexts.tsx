import { useEffect, useState } from 'react';
import type { EngineContexts as Contexts, IpcError } from '../../../preload/contract';
import { api, describeError } from '../lib/api';
import { ErrorPanel } from './common';

/**
 * The Docker contexts (as `docker context ls`) and the switch between them (as `docker context
 * use`): the app's main process refuses it while tasks run, and the next call gets a fresh engine.
 */
export function EngineContexts({ onSwitched }: { onSwitched: () => void }) {
  const [contexts, setContexts] = useState<Contexts | undefined>();
  const [error, setError] = useState<IpcError | undefined>();
  const [switching, setSwitching] = useState<string | undefined>();
  useEffect(() => {
    api.engine.contexts().then(setContexts, (failure: unknown) => setError(describeError(failure)));
  }, []);

  const use = async (name: string) => {
    setSwitching(name);
    setError(undefined);
    try {
      setContexts(await api.engine.useContext(name));
      onSwitched();
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setSwitching(undefined);
    }
  };

  if (!contexts) return error ? <ErrorPanel error={error} title="The Docker contexts could not be read" /> : null;
  return (
    <div className="engine-contexts">
      <h3>Docker contexts</h3>
      {contexts.overriddenBy && <p className="hint small">{contexts.overriddenBy} is set in Airlock's environment: it decides the engine, so switching here is off.</p>}
      <ul>
        {contexts.contexts.map((context) => (
          <li key={context.name}>
            <code>{context.name}</code>
            <span className="muted small">{context.host ?? 'DOCKER_HOST or this machine\'s Docker socket'}{context.description ? ` · ${context.description}` : ''}</span>
            {context.current
              ? <strong className="small">in use</strong>
              : <button type="button" className="secondary small" disabled={switching !== undefined || contexts.overriddenBy !== undefined} onClick={() => void use(context.name)}>{switching === context.name ? 'Switching…' : 'Use'}</button>}
          </li>
        ))}
      </ul>
      {error && <ErrorPanel error={error} title="The engine was not switched" />}
    </div>
  );
}
