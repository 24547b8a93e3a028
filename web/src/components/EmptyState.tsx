import type { ReactNode } from 'react';

/** What a page shows when it has nothing to list: what is missing and the next step. */
export function EmptyState({ title, children }: { title: string; children?: ReactNode }): React.JSX.Element {
  return (
    <div className="empty-state" role="status">
      <h2>{title}</h2>
      {children}
    </div>
  );
}
