import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef, useState } from 'react';
import type { IpcError } from '../../../preload/contract';
import { Badge, ErrorPanel } from '../components/common';
import { adoptStyleElements } from '../lib/adopt-styles';
import { api, describeError } from '../lib/api';
import { ConfirmControl, takeControl } from './LiveScreen';

export interface TerminalTask {
  id: string;
  agent: string;
  terminal: { cols: number; rows: number; control?: 'cli' | 'app' | undefined };
}

/**
 * A running task's interactive session (`run -it`), live: the agent's terminal as its controller
 * sees it (xterm.js), read-only until the person takes control (after a confirmation: it is
 * recorded in the action log). Then their keys reach the agent and its terminal takes this
 * view's size, until they give control back. One holder at a time: while the CLI that started
 * the session holds it, this view only watches.
 */
export function TerminalTab({ info }: { info: TerminalTask }) {
  const hostRef = useRef<HTMLDivElement>(null);
  const termRef = useRef<Terminal | null>(null);
  const fitRef = useRef<FitAddon | null>(null);
  const controllingRef = useRef(false);
  const [controlling, setControlling] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<IpcError | null>(null);
  const [ended, setEnded] = useState(false);
  const holder = info.terminal.control;
  const task = info.id;

  useEffect(() => {
    const host = hostRef.current;
    if (!host) return undefined;
    const term = new Terminal({ cols: info.terminal.cols, rows: info.terminal.rows, disableStdin: true, convertEol: false, scrollback: 5000, fontSize: 13 });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(host);
    const unadopt = adoptStyleElements(host);
    termRef.current = term;
    fitRef.current = fit;
    const encoder = new TextEncoder();
    const typed = term.onData((text) => {
      if (!controllingRef.current) return; // view only: nothing is sent (the engine would refuse it too)
      api.terminal.input({ task, data: encoder.encode(text) }).catch((caught: unknown) => setError(describeError(caught)));
    });
    const unsubscribe = api.subscribe.terminal((frame) => {
      if (frame.task !== task) return;
      if (frame.ended) setEnded(true);
      else if (frame.dropped) void api.terminal.watch(task).catch(() => undefined); // fell behind: again, from the scroll-back
      else term.write(frame.data);
    });
    api.terminal.watch(task).catch((caught: unknown) => setError(describeError(caught)));
    return () => {
      unsubscribe();
      typed.dispose();
      void api.terminal.unwatch(task).catch(() => undefined);
      unadopt();
      term.dispose();
      termRef.current = null;
    };
  }, [task]); // the session's first size sizes the view once; later sizes follow below

  // The session's size, as its controller set it (followed while someone else has control).
  useEffect(() => {
    if (!controllingRef.current) termRef.current?.resize(info.terminal.cols, info.terminal.rows);
  }, [info.terminal.cols, info.terminal.rows]);

  useEffect(() => {
    if (holder !== 'app') setControl(false); // given back, or taken by the CLI
  }, [holder]);

  function setControl(on: boolean) {
    controllingRef.current = on;
    setControlling(on);
    const term = termRef.current;
    if (!term) return;
    term.options.disableStdin = !on;
    if (on) {
      // This view's size becomes the agent's terminal size.
      const size = fitRef.current?.proposeDimensions();
      if (size && size.cols > 0 && size.rows > 0) {
        term.resize(size.cols, size.rows);
        void api.terminal.resize({ task, cols: Math.min(1000, size.cols), rows: Math.min(1000, size.rows) }).catch(() => undefined);
      }
      term.focus();
    }
  }

  const take = () => takeControl(() => api.terminal.control({ task, take: true }), { setBusy, setConfirming, setError, taken: () => setControl(true) });
  const giveBack = async () => {
    setControl(false);
    try {
      await api.terminal.control({ task, take: false });
    } catch (caught) {
      setError(describeError(caught));
    }
  };

  const mine = controlling && holder === 'app';
  return (
    <section className="panel terminal-panel" aria-label="Terminal" data-terminal-panel>
      <div className="live-head">
        <h2>Terminal</h2>
        {ended ? <Badge tone="info">Session ended</Badge>
          : mine ? <Badge tone="warn">You have control</Badge>
            : holder ? <Badge tone="warn">{holder === 'cli' ? 'the CLI' : 'another window'} has control</Badge>
              : <Badge tone="info" title="You see the agent's terminal; nothing you type here reaches it">View only</Badge>}
        <span className="muted small">{info.terminal.cols}×{info.terminal.rows}</span>
        <span className="live-actions">
          {mine ? <button type="button" className="secondary" onClick={() => void giveBack()} data-terminal-give-back>Give back control</button>
            : <button type="button" onClick={() => setConfirming(true)} disabled={ended || holder !== undefined} data-terminal-take-control>Take control…</button>}
        </span>
      </div>
      {error && <ErrorPanel error={error} title="Could not do that" />}
      <div ref={hostRef} className={mine ? 'terminal-frame controlling' : 'terminal-frame'} data-terminal />
      {!mine && !ended && <p className="muted small" data-terminal-view-only>View only: what you type here goes nowhere until you take control.</p>}
      {mine && <p className="muted small">Your keys go to the agent's terminal while it has focus. Taking and giving back control are recorded in the action log; what you type is not.</p>}
      {confirming && (
        <ConfirmControl title={`Take control of ${info.agent}'s terminal?`} busy={busy} onConfirm={() => void take()} onCancel={() => setConfirming(false)}>
          Your keys go to the agent's terminal as if typed there, Ctrl-C included. This is recorded in the action log, and so is giving control back; the keys themselves are not.
        </ConfirmControl>
      )}
    </section>
  );
}
