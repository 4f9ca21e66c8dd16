import { useMemo, useRef, useState } from 'react';
import type { WireEvent } from '../../../preload/contract';
import { Badge, MOD_KEY } from '../components/common';
import { VirtualList } from '../components/VirtualList';
import type { EventLog } from '../lib/event-log';
import { FilteredView, isFiltering, NO_FILTER, type LogFilter } from '../lib/filter';
import { clockTime } from '../lib/format';
import { KIND_FAMILIES, RECORDED_BY, summarize } from '../lib/summary';

const ROW_HEIGHT = 22;

const ACTOR_TITLE: Record<WireEvent['actor'], string> = {
  agent: 'Recorded from what the agent did or said (its output, its /v1/actions records): the agent\'s claim, not Airlock\'s',
  airlock: 'Recorded by Airlock itself',
  user: 'A person\'s decision, recorded by Airlock',
};

/**
 * The live action log: virtualised, filtered by kind family, decision and text, following the
 * newest event until the user scrolls up (or presses Pause).
 */
export function ActionLog({ log, version }: { log: EventLog; version: number }) {
  const [filter, setFilter] = useState<LogFilter>(NO_FILTER);
  const [draftText, setDraftText] = useState('');
  const [follow, setFollow] = useState(true);
  const [selected, setSelected] = useState<WireEvent | null>(null);
  const view = useRef(new FilteredView());
  const debounce = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const filtering = isFiltering(filter);
  const seenAtPause = useRef(0);

  const count = useMemo(() => {
    if (!filtering) return log.events.length;
    view.current.update(log, filter);
    return view.current.indices.length;
  }, [log, filter, filtering, version]);

  const eventAt = (i: number): WireEvent => (filtering ? log.events[view.current.indices[i]!]! : log.events[i]!);
  const newSincePause = follow ? 0 : Math.max(0, count - seenAtPause.current);

  const setFollowing = (value: boolean) => {
    if (!value) seenAtPause.current = count;
    setFollow(value);
  };

  const onText = (text: string) => {
    setDraftText(text);
    clearTimeout(debounce.current);
    debounce.current = setTimeout(() => setFilter((f) => ({ ...f, text })), 150);
  };

  const renderRow = (i: number) => {
    const event = eventAt(i);
    const summary = summarize(event);
    const isSelected = selected !== null && selected.seq === event.seq && selected.task === event.task;
    return (
      <div
        className={`log-row tone-${summary.tone} by-${event.actor}${isSelected ? ' selected' : ''}`}
        data-seq={event.seq}
        data-time={event.time}
        onClick={() => setSelected(isSelected ? null : event)}
        role="listitem"
      >
        <span className="log-time">{clockTime(event.time)}</span>
        <span className={`log-actor actor-${event.actor}`} title={ACTOR_TITLE[event.actor]}>{RECORDED_BY[event.actor]}</span>
        <span className="log-kind">{event.kind}</span>
        <span className="log-mark">{summary.mark}</span>
        <span className="log-text">{summary.text}</span>
        {event.decision && <span className={`log-rule ${event.decision.allow ? 'allow' : 'deny'}`}>{event.decision.allow ? 'allow' : 'deny'} · {event.decision.rule}</span>}
      </div>
    );
  };

  return (
    <section className="log" aria-label="Action log">
      <div className="log-toolbar">
        <select aria-label="Kind" value={filter.family} onChange={(e) => setFilter({ ...filter, family: e.target.value })}>
          <option value="">all kinds</option>
          {KIND_FAMILIES.map((family) => <option key={family} value={family}>{family}.*</option>)}
        </select>
        <select aria-label="Decision" value={filter.decision} onChange={(e) => setFilter({ ...filter, decision: e.target.value as LogFilter['decision'] })}>
          <option value="">any decision</option>
          <option value="allow">allowed</option>
          <option value="deny">refused</option>
        </select>
        <input type="search" data-search placeholder={`Filter the log (${MOD_KEY}+F)`} aria-label="Filter text" value={draftText} onChange={(e) => onText(e.target.value)} />
        <span className="muted small log-count">
          {filtering ? `${count.toLocaleString()} of ${log.events.length.toLocaleString()}` : `${log.events.length.toLocaleString()} events`}
        </span>
        <button type="button" className={follow ? 'secondary' : ''} onClick={() => setFollowing(!follow)} aria-pressed={follow} title="Follow the newest event">
          {follow ? 'Pause' : newSincePause > 0 ? `Follow (${newSincePause.toLocaleString()} new)` : 'Follow'}
        </button>
      </div>
      {log.dropped > 0 && <p className="muted small">{log.dropped.toLocaleString()} older events are not kept in the window; they are in the audit trail.</p>}
      {count === 0 ? (
        <div className="log-empty muted">{filtering ? 'No event matches these filters.' : 'No events yet: they appear here as the task runs.'}</div>
      ) : (
        <VirtualList count={count} rowHeight={ROW_HEIGHT} renderRow={renderRow} follow={follow} onFollowChange={setFollowing} version={version} label="Events" />
      )}
      {selected && (
        <div className="log-detail">
          <div className="log-detail-head">
            <strong>#{selected.seq} {selected.kind}</strong>
            <Badge tone={selected.actor === 'agent' ? 'warn' : 'muted'} title={ACTOR_TITLE[selected.actor]}>recorded by {RECORDED_BY[selected.actor]}</Badge>
            {selected.decision && <Badge tone={selected.decision.allow ? 'ok' : 'bad'}>{selected.decision.allow ? 'allowed' : 'refused'} by {selected.decision.by} · {selected.decision.rule}</Badge>}
            <button type="button" className="link" onClick={() => setSelected(null)}>Close</button>
          </div>
          <pre>{JSON.stringify(selected.data, null, 2)}</pre>
        </div>
      )}
    </section>
  );
}
