// Redash's DETAILS: one row at a time as a list of column and value.
import { useState } from 'react';
import { formatCell } from '../../lib/format';
import type { Row } from './chart';

export function DetailsView({ rows, columns }: { rows: Row[]; columns: string[] }): React.JSX.Element {
  const [index, setIndex] = useState(0);
  const row = rows[index];
  if (!row) return <p className="muted">No rows.</p>;
  return (
    <div className="details-viz">
      <dl>
        {columns.map((column) => (
          <div key={column} className="details-row">
            <dt>{column}</dt>
            <dd>{formatCell(row[column])}</dd>
          </div>
        ))}
      </dl>
      <nav className="pager" aria-label="Rows">
        <button type="button" disabled={index === 0} onClick={() => setIndex(index - 1)}>
          Previous
        </button>
        <span>
          {index + 1} / {rows.length}
        </span>
        <button type="button" disabled={index + 1 >= rows.length} onClick={() => setIndex(index + 1)}>
          Next
        </button>
      </nav>
    </div>
  );
}
