import { Badge, EmptyState } from '../components/common';
import type { EventLog } from '../lib/event-log';
import { clockTime, formatSize } from '../lib/format';

/** Tool calls shown (the newest); the action log has every one. */
const SHOWN = 500;
const WHO: Record<string, string> = { policy: 'by the manifest', user: 'by a person', default: 'by default' };

/**
 * The agent's MCP tool calls, live (`mcp.call`): server and tool, the decision with its rule and who
 * made it, the arguments as recorded (secrets redacted, capped), sizes, duration and any error.
 * Everything came through api.ts (made visible) and React renders it as text.
 */
export function ToolsTab({ log }: { log: EventLog }) {
  const rows = log.toolCalls.slice(-SHOWN).reverse();
  if (rows.length === 0) return <EmptyState title="No tool calls">An agent whose manifest lists <code>mcp:</code> servers calls their tools through Airlock; every call shows here.</EmptyState>;
  return (
    <div className="table-wrap">
      <table className="table" data-tool-table>
        <thead><tr><th>Time</th><th>Tool</th><th>Decision</th><th>Arguments</th><th>Result</th></tr></thead>
        <tbody>
          {rows.map((e) => {
            const d = e.data;
            const refused = e.decision?.allow === false;
            return (
              <tr key={e.seq} className={refused ? 'row-bad' : ''} data-tool-call={`${String(d.server)}/${String(d.tool)}`}>
                <td className="mono">{clockTime(e.time)}</td>
                <td className="mono">{String(d.server)}/{String(d.tool)}</td>
                <td>{e.decision ? <Badge tone={refused ? 'bad' : 'ok'}><span data-tool-decision>{refused ? 'refused' : 'allowed'} · {e.decision.rule}{e.decision.by ? ` · ${WHO[e.decision.by] ?? e.decision.by}` : ''}</span></Badge> : null}</td>
                <td className="mono small tool-arguments">{typeof d.arguments === 'string' ? d.arguments : ''}</td>
                <td className="mono small">{typeof d.error === 'string' ? d.error : `${formatSize(Number(d.resultBytes ?? 0))} in ${Number(d.durationMs ?? 0)} ms`}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
