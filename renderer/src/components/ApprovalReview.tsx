import { Fragment } from 'react';
import type { ApprovalSummary } from '../../../preload/contract';

/**
 * Everything an agent will get, from the core's approval summary — the same labelled lines the
 * CLI prints: what a person reviews before pressing Approve. Warnings come first.
 */
export function ApprovalReview({ review }: { review: ApprovalSummary }) {
  return (
    <div className="review" data-review>
      {review.warnings.length > 0 && (
        <ul className="review-warnings" aria-label="Warnings">
          {review.warnings.map((warning) => <li key={warning} className="warn-text">⚠ {warning}</li>)}
        </ul>
      )}
      <dl className="small">
        {review.rows.filter((row) => row.label !== 'manifest').map((row) => (
          <Fragment key={row.label}>
            <dt className="review-label">{row.label}</dt>
            <dd className={row.label === 'inputs' || row.label === 'command' ? 'mono' : undefined}>{row.text}</dd>
          </Fragment>
        ))}
      </dl>
    </div>
  );
}
