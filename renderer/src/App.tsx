import { useEffect, type ReactNode } from 'react';
import type { DoctorReport, IpcError } from '../../preload/contract';
import { useAppStore } from './store';

export function App() {
  const version = useAppStore((state) => state.version);
  const doctor = useAppStore((state) => state.doctor);
  const loadVersion = useAppStore((state) => state.loadVersion);
  const refreshDoctor = useAppStore((state) => state.refreshDoctor);

  useEffect(() => {
    void loadVersion();
    void refreshDoctor();
  }, [loadVersion, refreshDoctor]);

  const loading = doctor.status === 'loading' || doctor.status === 'idle';
  const report = doctor.status === 'ready' ? doctor.report : doctor.status === 'loading' ? doctor.previous : undefined;

  return (
    <div className="app">
      <header className="app-header">
        <h1>
          Airlock {version && <span className="version">v{version}</span>}
        </h1>
        <button type="button" onClick={() => void refreshDoctor()} disabled={loading}>
          {loading ? 'Checking…' : 'Refresh'}
        </button>
      </header>

      <main className="app-main" aria-busy={loading}>
        {doctor.status === 'error' && <ErrorPanel error={doctor.error} />}
        {report && <DoctorPanels report={report} stale={loading} />}
        {!report && loading && <p className="muted">Checking the engine, the keychain and the images…</p>}
        {doctor.status === 'ready' && <p className="muted small">Checked at {doctor.checkedAt.toLocaleTimeString()}</p>}
      </main>
    </div>
  );
}

function ErrorPanel({ error }: { error: IpcError }) {
  return (
    <section className="panel panel-error" role="alert">
      <h2>Airlock could not run its checks</h2>
      <p>{error.message}</p>
      {error.hint && (
        <p className="hint">
          <strong>How to fix:</strong> {error.hint}
        </p>
      )}
      <p className="muted small">code: {error.code}</p>
    </section>
  );
}

function DoctorPanels({ report, stale }: { report: DoctorReport; stale: boolean }) {
  const { engine, keychain, images } = report;
  return (
    <div className={stale ? 'panels stale' : 'panels'}>
      <StatusPanel title="Docker engine" ok={engine.ok} message={engine.message} fix={engine.fix}>
        <dl>
          <dt>Endpoint</dt>
          <dd>{engine.endpoint}</dd>
          {engine.version && (
            <>
              <dt>Version</dt>
              <dd>
                {engine.version}
                {engine.apiVersion && ` (API ${engine.apiVersion})`}
                {engine.os && ` · ${engine.os}`}
              </dd>
            </>
          )}
        </dl>
      </StatusPanel>

      <StatusPanel title="Keychain" ok={keychain.ok} message={keychain.message} fix={keychain.fix}>
        <dl>
          <dt>Backend</dt>
          <dd>{keychain.backend}</dd>
        </dl>
      </StatusPanel>

      <section className="panel">
        <h2>Images</h2>
        {images.length === 0 ? (
          <p className="muted">No images are configured.</p>
        ) : (
          <ul className="images">
            {images.map((image) => (
              <li key={image.ref}>
                <StatusDot ok={image.present} />
                <code>{image.ref}</code>
                <span className="muted small">
                  {image.present ? [formatSize(image.sizeBytes), formatDate(image.created)].filter(Boolean).join(' · ') : 'missing'}
                </span>
                {!image.present && image.fix && <span className="hint small">How to fix: {image.fix}</span>}
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

function StatusPanel(props: { title: string; ok: boolean; message: string; fix?: string | undefined; children?: ReactNode }) {
  return (
    <section className={props.ok ? 'panel' : 'panel panel-warn'}>
      <h2>
        <StatusDot ok={props.ok} /> {props.title}
      </h2>
      <p>{props.message}</p>
      {!props.ok && props.fix && (
        <p className="hint">
          <strong>How to fix:</strong> {props.fix}
        </p>
      )}
      {props.children}
    </section>
  );
}

function StatusDot({ ok }: { ok: boolean }) {
  return <span className={ok ? 'dot dot-ok' : 'dot dot-bad'} role="img" aria-label={ok ? 'ok' : 'problem'} />;
}

function formatSize(bytes: number | undefined): string {
  if (bytes === undefined) return '';
  const units = ['B', 'KB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

function formatDate(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : `built ${date.toLocaleString()}`;
}
