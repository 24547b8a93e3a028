// Redash's COUNTER: one value (a cell, or the row count) with an optional target to compare.
import { formatNumber } from '../../lib/format';
import type { Row } from './chart';

export interface CounterOptions {
  counterLabel?: string;
  counterColName?: string;
  rowNumber?: number;
  targetColName?: string;
  targetRowNumber?: number;
  countRow?: boolean;
  stringDecimal?: number;
  stringPrefix?: string;
  stringSuffix?: string;
  formatTargetValue?: boolean;
}

function cell(rows: Row[], column: string | undefined, rowNumber: number | undefined): unknown {
  if (!column) return undefined;
  const index = (rowNumber ?? 1) - 1;
  return rows[index < 0 ? rows.length + index + 1 : index]?.[column];
}

function display(value: unknown, options: CounterOptions): string {
  if (typeof value === 'number') {
    return `${options.stringPrefix ?? ''}${formatNumber(value, options.stringDecimal)}${options.stringSuffix ?? ''}`;
  }
  return value === undefined || value === null ? '—' : String(value);
}

export function CounterView({ rows, options, name }: { rows: Row[]; options: CounterOptions; name: string }): React.JSX.Element {
  const value = options.countRow ? rows.length : cell(rows, options.counterColName, options.rowNumber);
  const target = cell(rows, options.targetColName, options.targetRowNumber);
  const trend = typeof value === 'number' && typeof target === 'number' ? Math.sign(value - target) : 0;
  return (
    <div className={`counter${trend > 0 ? ' positive' : trend < 0 ? ' negative' : ''}`} data-testid="counter">
      <div className="counter-value">{display(value, options)}</div>
      {target !== undefined && <div className="counter-target">({options.formatTargetValue ? display(target, options) : String(target)})</div>}
      <div className="counter-label">{options.counterLabel || name}</div>
    </div>
  );
}
