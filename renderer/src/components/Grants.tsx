import type { TaskGrant } from '../../../preload/contract';

/** A task's grants: each credential's name and a countdown to its expiry, or how it ended. */
export function Grants({ grants, now, empty }: { grants: TaskGrant[]; now: number; empty?: string }) {
  if (grants.length === 0) return empty ? <span className="muted small">{empty}</span> : null;
  return (
    <span className="grants">
      {grants.map((g) => {
        // `now` ticks once a second: a grant that arrived since the last tick must not show more
        // time than it was lent for.
        const left = Date.parse(g.expiresAt) - Math.max(now, Date.now());
        const state = g.state === 'active' && left <= 0 ? 'expired' : g.state;
        const label = state === 'active' ? countdown(left) : state;
        return (
          <span key={g.grant} className={`grant grant-${state}`} data-grant={g.credential} data-grant-state={state}
            title={state === 'active' ? `lent until ${new Date(g.expiresAt).toLocaleTimeString()}` : `${g.credential}: ${state}`}>
            <span aria-hidden="true" className="grant-key">⚷</span> {g.credential} <span className="grant-time">{label}</span>
          </span>
        );
      })}
    </span>
  );
}

/** `14:32` (or `1:02:05`), a countdown that ticks every second. */
function countdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return hours > 0 ? `${hours}:${pad(minutes)}:${pad(seconds)}` : `${minutes}:${pad(seconds)}`;
}
