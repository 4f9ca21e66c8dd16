import type { ReactNode } from 'react';
import type { DoctorReport } from '../../../preload/contract';
import { ErrorPanel, ProgressBar, StatusDot } from '../components/common';
import { EngineContexts } from '../components/EngineContexts';
import { formatSize } from '../lib/format';
import { navigate } from '../lib/route';
import { useAppStore } from '../store/app';

export function StatusScreen() {
  const doctor = useAppStore((s) => s.doctor);
  const refresh = useAppStore((s) => s.refreshDoctor);
  const loading = doctor.status === 'loading' || doctor.status === 'idle';
  const report = doctor.status === 'ready' ? doctor.report : doctor.status === 'loading' ? doctor.previous : undefined;
  return (
    <div>
      <header className="screen-head">
        <h1>Status</h1>
        <button type="button" onClick={() => void refresh()} disabled={loading}>{loading ? 'Checking…' : 'Refresh'}</button>
      </header>
      <main aria-busy={loading}>
        {doctor.status === 'error' && <ErrorPanel error={doctor.error} title="Airlock could not run its checks" />}
        {report && <DoctorPanels report={report} stale={loading} onSwitched={() => void refresh()} />}
        {!report && loading && <p className="muted">Checking the engine, the keychain and the images…</p>}
        {report?.ok && (
          <p className="next-step">
            Ready to run agents. <button type="button" className="link" onClick={() => navigate({ screen: 'agents' })}>Choose an agent →</button>
          </p>
        )}
        {doctor.status === 'ready' && <p className="muted small">Checked at {doctor.checkedAt.toLocaleTimeString()}</p>}
      </main>
    </div>
  );
}

function DoctorPanels({ report, stale, onSwitched }: { report: DoctorReport; stale: boolean; onSwitched: () => void }) {
  const { engine, keychain } = report;
  // The round trip doctor measured (its report carries it once the engine reports latency).
  const latencyMs = (engine as { latencyMs?: number }).latencyMs;
  return (
    <div className={stale ? 'panels stale' : 'panels'}>
      <StatusPanel title="Docker engine" ok={engine.ok} message={engine.message} fix={engine.fix}>
        <dl>
          <dt>Endpoint</dt>
          <dd>{engine.endpoint}</dd>
          {engine.version && (
            <>
              <dt>Version</dt>
              <dd>{engine.version}{engine.apiVersion && ` (API ${engine.apiVersion})`}{engine.os && ` · ${engine.os}`}</dd>
            </>
          )}
          {latencyMs !== undefined && (
            <>
              <dt>Latency</dt>
              <dd>{Math.round(latencyMs)} ms round trip</dd>
            </>
          )}
        </dl>
        <EngineContexts onSwitched={onSwitched} />
      </StatusPanel>
      <StatusPanel title="Keychain" ok={keychain.ok} message={keychain.message} fix={keychain.fix}>
        <dl>
          <dt>Backend</dt>
          <dd>{keychain.backend}</dd>
        </dl>
      </StatusPanel>
      <ImagesPanel report={report} />
    </div>
  );
}

function ImagesPanel({ report }: { report: DoctorReport }) {
  const image = useAppStore((s) => s.image);
  const imageError = useAppStore((s) => s.imageError);
  const build = useAppStore((s) => s.buildImage);
  const building = image?.state === 'building';
  return (
    <section className="panel">
      <h2>Images</h2>
      <ul className="images">
        {report.images.map((entry) => (
          <li key={entry.ref}>
            <StatusDot ok={entry.present} />
            <code>{entry.ref}</code>
            <span className="muted small">
              {entry.present ? [formatSize(entry.sizeBytes), entry.created ? `built ${new Date(entry.created).toLocaleString()}` : ''].filter(Boolean).join(' · ') : 'missing'}
            </span>
            {!entry.present && entry.fix && !building && <span className="hint small">How to fix: {entry.fix}</span>}
          </li>
        ))}
      </ul>
      {building && (
        <div className="build-progress">
          <ProgressBar percent={image.percent} label="Image build progress" />
          <p className="small"><strong>{image.phase}</strong> {image.message}{image.percent !== undefined ? ` (${Math.round(image.percent)}%)` : ''}</p>
        </div>
      )}
      {image?.state === 'failed' && image.error && <ErrorPanel error={image.error} title="The image build failed" />}
      {image?.state === 'done' && <p className="small ok-text">{image.message}</p>}
      {imageError && <ErrorPanel error={imageError} />}
      {report.engine.ok && (
        <div className="button-row">
          <button type="button" disabled={building} onClick={() => void build()}>{report.images.every((i) => i.present || i.optional) ? 'Rebuild image' : 'Build image'}</button>
          <button type="button" className="secondary" disabled={building} onClick={() => void build(true)} title="From this machine's Debian packages (Linux, needs mmdebstrap)">Build offline</button>
          <button type="button" className="secondary" disabled={building} onClick={() => void build(undefined, 'desktop')} title="The base image plus a virtual screen and Chromium, for tasks with display: (offline from this machine's Debian packages when the online build fails)">{report.images.some((i) => i.optional && !i.present) ? 'Build desktop image' : 'Rebuild desktop image'}</button>
        </div>
      )}
    </section>
  );
}

function StatusPanel(props: { title: string; ok: boolean; message: string; fix?: string | undefined; children?: ReactNode }) {
  return (
    <section className={props.ok ? 'panel' : 'panel panel-warn'}>
      <h2><StatusDot ok={props.ok} /> {props.title}</h2>
      <p>{props.message}</p>
      {!props.ok && props.fix && <p className="hint"><strong>How to fix:</strong> {props.fix}</p>}
      {props.children}
    </section>
  );
}
