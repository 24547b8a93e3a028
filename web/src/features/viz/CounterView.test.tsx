import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import { CounterView } from './CounterView';
import { TableView } from './TableView';

const rows = [
  { day: '2026-01-01', sales: 1234.5, target: 1000 },
  { day: '2026-01-02', sales: 900, target: 1000 },
];

describe('Redash counter and table options', () => {
  it('shows the chosen cell against its target with prefix and decimals', () => {
    render(<CounterView rows={rows} name="Sales" options={{ counterColName: 'sales', rowNumber: 1, targetColName: 'target', targetRowNumber: 1, stringDecimal: 1, stringPrefix: '$' }} />);
    const counter = screen.getByTestId('counter');
    expect(counter.className).toContain('positive');
    expect(counter.textContent).toContain('$1,234.5');
    expect(counter.textContent).toContain('Sales');
  });

  it('counts rows when asked to', () => {
    render(<CounterView rows={rows} name="Days" options={{ countRow: true }} />);
    expect(screen.getByTestId('counter').textContent).toContain('2');
  });

  it('hides invisible columns and uses titles', () => {
    render(<TableView rows={rows} columns={['day', 'sales', 'target']} options={{ columns: [{ name: 'target', visible: false }, { name: 'sales', title: 'Revenue', displayAs: 'number', numberFormat: '0,0.00' }] }} />);
    expect(screen.getAllByRole('columnheader').map((cell) => cell.textContent)).toEqual(['day', 'Revenue']);
    expect(screen.getByText('1,234.50')).toBeTruthy();
  });
});
