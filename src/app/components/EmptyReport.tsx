import type { ReactNode } from 'react';
import './EmptyReport.css';

/** What a report view (Evaluation, Scaling) shows in place of a report that is missing or unreadable: how to make it. */
export function EmptyReport({ testId, children }: { testId: string; children: ReactNode }) {
  return (
    <p className="eval-empty" data-testid={testId}>
      {children}
    </p>
  );
}
