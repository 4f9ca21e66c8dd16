import { Fragment } from 'react';
import type { ApprovalSummary } from '../../../preload/contract';

const list = (items: string[], none = 'none') => (items.length > 0 ? items.join(', ') : none);

function network(n: ApprovalSummary['network']): string {
  if (n.mode === 'none') return 'none';
  const reach = n.mode === 'open' ? 'open (any public host)' : `allowlist: ${list([...n.allow, ...n.local.map((l) => `local ${l}`)], '(empty)')}`;
  const unknown = n.onUnknownHost === 'ask' ? `asks about other hosts (waits ${n.askTimeout})` : 'other hosts refused';
  const rate = n.rate ? [n.rate.requestsPerMinute !== undefined ? `${n.rate.requestsPerMinute}/min` : '', n.rate.bytes ?? ''].filter(Boolean).join(', ') : '';
  return [reach, unknown, ...(rate ? [`rate ${rate}`] : [])].join('; ');
}

function credential(c: ApprovalSummary['credentials'][number]): string {
  return `${c.name}: ${c.delivery === 'env' ? 'the real secret' : 'a placeholder'} in $${c.env}, ttl ${c.ttl}${c.methods ? `, methods ${c.methods.join('/')}` : ''}${c.pathPrefix ? `, path ${c.pathPrefix}*` : ''}${c.uses !== null ? `, ${c.uses} uses` : ''}`;
}

/**
 * Everything an agent will get, from the core's approval summary (the model the CLI prints too):
 * what a person reviews before pressing Approve. Warnings come first.
 */
export function ApprovalReview({ review }: { review: ApprovalSummary }) {
  const rows: [string, string][] = [
    ['Image', review.image],
    ['Command', review.command ? JSON.stringify(review.command) : "the image's own"],
    ['Inputs', list(review.inputs.map((i) => `${i.outsideManifestFolder ? '⚠ ' : ''}${i.hostPath} → ${i.to}`))],
    ['Outputs', list(review.outputs)],
    ['Environment', list(review.env.map((e) => (e.value !== undefined ? `${e.name}=${e.value}` : `${e.name}=(hidden: ${e.hidden ?? 'looks secret'})`)))],
    ['Network', network(review.network)],
    ['Credentials', list(review.credentials.map(credential))],
    ['Starts', review.delegation ? `${list(review.delegation.allow)} (depth ≤ ${review.delegation.maxDepth}, ≤ ${review.delegation.maxTasks} tasks)` : 'none'],
    ['Decoys', list([...review.decoys.env.map((e) => `$${e}`), ...review.decoys.files])],
    ['Screen', review.display ? `${review.display.width}×${review.display.height} with a browser, a screenshot every ${review.display.screenshotEvery}` : 'none'],
    ['Limits', `${review.resources.cpus} cpu · ${review.resources.memory} · ${review.resources.pids} pids · timeout ${review.timeout}`],
    ['On violation', `${review.onViolation} (also after ${review.maxRefusedRequests} refused requests)`],
  ];
  return (
    <div className="review" data-review>
      {review.warnings.length > 0 && (
        <ul className="review-warnings" aria-label="Warnings">
          {review.warnings.map((warning) => <li key={warning} className="warn-text">⚠ {warning}</li>)}
        </ul>
      )}
      <dl className="small">
        {rows.map(([label, value]) => (
          <Fragment key={label}>
            <dt>{label}</dt>
            <dd className={label === 'Inputs' || label === 'Command' ? 'mono' : undefined}>{value}</dd>
          </Fragment>
        ))}
      </dl>
    </div>
  );
}
