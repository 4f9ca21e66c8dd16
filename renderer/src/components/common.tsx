import type { ReactNode } from 'react';
import type { IpcError } from '../../../preload/contract';

export function ErrorPanel({ error, title }: { error: IpcError; title?: string }) {
  return (
    <section className="panel panel-error" role="alert">
      {title && <h2>{title}</h2>}
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

/** What an empty screen says: what is missing, and what to do next. */
export function EmptyState({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <section className="empty">
      <h2>{title}</h2>
      {children && <div className="muted">{children}</div>}
      {action && <div className="empty-action">{action}</div>}
    </section>
  );
}

export function StatusDot({ ok }: { ok: boolean }) {
  return <span className={ok ? 'dot dot-ok' : 'dot dot-bad'} role="img" aria-label={ok ? 'ok' : 'problem'} />;
}

export function ProgressBar({ percent, label }: { percent: number | undefined; label: string }) {
  const known = percent !== undefined && Number.isFinite(percent);
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} {...(known ? { 'aria-valuenow': Math.round(percent) } : {})}>
      <div className={known ? 'progress-fill' : 'progress-fill indeterminate'} style={known ? { width: `${Math.max(0, Math.min(100, percent))}%` } : undefined} />
    </div>
  );
}

export type BadgeTone = 'ok' | 'bad' | 'warn' | 'info' | 'muted' | 'ask';

export function Badge({ tone, children, title }: { tone: BadgeTone; children: ReactNode; title?: string }) {
  return (
    <span className={`badge badge-${tone}`} title={title}>
      {children}
    </span>
  );
}

export function Kbd({ children }: { children: ReactNode }) {
  return <kbd className="kbd">{children}</kbd>;
}

/** "Ctrl" or "⌘", as the platform says it. */
export const MOD_KEY = /Mac|iPhone|iPad/.test(navigator.platform) ? '⌘' : 'Ctrl';
