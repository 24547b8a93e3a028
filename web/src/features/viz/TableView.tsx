// Redash's TABLE visualization: the columns it lists (visible, titled, aligned, formatted) over
// the result's rows, one page at a time.
import { useState } from 'react';
import { formatCell, formatNumber } from '../../lib/format';
import type { Row } from './chart';

export interface TableColumnOptions {
  name: string;
  title?: string;
  visible?: boolean;
  alignContent?: 'left' | 'center' | 'right';
  displayAs?: string;
  numberFormat?: string;
}
export interface TableOptions {
  itemsPerPage?: number;
  columns?: TableColumnOptions[];
}

/** Decimals from a numeral.js-style format such as `0,0.00`. */
function decimalsOf(format: string | undefined): number | undefined {
  if (!format) return undefined;
  const dot = format.indexOf('.');
  return dot < 0 ? 0 : format.length - dot - 1;
}

export function TableView({ rows, columns, options }: { rows: Row[]; columns: string[]; options: TableOptions }): React.JSX.Element {
  const [page, setPage] = useState(0);
  const perPage = options.itemsPerPage ?? 25;
  const configured = new Map((options.columns ?? []).map((column) => [column.name, column]));
  const shown = columns.map((name) => configured.get(name) ?? { name }).filter((column) => column.visible !== false);
  const pageCount = Math.max(1, Math.ceil(rows.length / perPage));
  const slice = rows.slice(page * perPage, page * perPage + perPage);
  return (
    <div className="table-viz">
      <table>
        <thead>
          <tr>
            {shown.map((column) => (
              <th key={column.name} style={{ textAlign: column.alignContent }}>
                {column.title || column.name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {slice.map((row, index) => (
            <tr key={page * perPage + index}>
              {shown.map((column) => {
                const value = row[column.name];
                const text = column.displayAs === 'number' && typeof value === 'number' ? formatNumber(value, decimalsOf(column.numberFormat)) : formatCell(value);
                return (
                  <td key={column.name} style={{ textAlign: column.alignContent }}>
                    {text}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      {pageCount > 1 && (
        <nav className="pager" aria-label="Table pages">
          <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
            Previous
          </button>
          <span>
            {page + 1} / {pageCount}
          </span>
          <button type="button" disabled={page + 1 >= pageCount} onClick={() => setPage(page + 1)}>
            Next
          </button>
        </nav>
      )}
    </div>
  );
}
