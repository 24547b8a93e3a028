// Editing one visualization: its type, name and the options Redash keeps for it, with a live
// preview over the current result.
import { useState } from 'react';
import { defaultChartOptions, type ChartOptions, type ChartType, type Row } from './chart';
import { VisualizationView } from './VisualizationView';
import { useSaveVisualization, type Visualization } from './api';
import type { CounterOptions } from './CounterView';

const CHART_TYPES: [ChartType, string][] = [
  ['line', 'Line'],
  ['column', 'Bar'],
  ['area', 'Area'],
  ['pie', 'Pie'],
  ['scatter', 'Scatter'],
  ['bubble', 'Bubble'],
  ['heatmap', 'Heatmap'],
  ['box', 'Box'],
];

const TYPE_NAMES: Record<string, string> = {
  CHART: 'Chart',
  TABLE: 'Table',
  COUNTER: 'Counter',
  FUNNEL: 'Funnel',
  SANKEY: 'Sankey',
  SUNBURST_SEQUENCE: 'Sunburst Sequence',
  DETAILS: 'Details',
};

interface Props {
  queryId: number;
  visualization: Visualization | null;
  rows: Row[];
  columns: { name: string; type?: string | null }[];
  onClose: (saved: Visualization | null) => void;
}

function initialOptions(type: string, columns: Props['columns']): Record<string, unknown> {
  if (type === 'CHART') return defaultChartOptions(columns) as Record<string, unknown>;
  if (type === 'COUNTER') return { counterColName: columns[0]?.name, rowNumber: 1, targetRowNumber: 1, stringDecimal: 0 } satisfies CounterOptions;
  if (type === 'FUNNEL') return { stepCol: { colName: columns[0]?.name, displayAs: 'Steps' }, valueCol: { colName: columns[1]?.name, displayAs: 'Value' }, autoSort: true, itemsLimit: 100 };
  if (type === 'SANKEY' || type === 'SUNBURST_SEQUENCE' || type === 'DETAILS') return {};
  return { itemsPerPage: 25, columns: [] };
}

export function VisualizationEditor({ queryId, visualization, rows, columns, onClose }: Props): React.JSX.Element {
  const [type, setType] = useState(visualization?.type ?? 'CHART');
  const [name, setName] = useState(visualization?.name ?? 'Chart');
  const [options, setOptions] = useState<Record<string, unknown>>(() => (visualization?.options as Record<string, unknown>) ?? initialOptions('CHART', columns));
  const save = useSaveVisualization();
  const columnNames = columns.map((column) => column.name);
  const chart = options as ChartOptions;
  const mapping = chart.columnMapping ?? {};

  function changeType(next: string): void {
    setType(next);
    setOptions(initialOptions(next, columns));
    if (!visualization) setName(TYPE_NAMES[next] ?? next);
  }

  function setRole(column: string, role: string): void {
    const nextMapping = { ...mapping } as Record<string, string>;
    if (role === 'x') for (const [other, mapped] of Object.entries(nextMapping)) if (mapped === 'x') delete nextMapping[other];
    if (role === 'unused') delete nextMapping[column];
    else nextMapping[column] = role;
    setOptions({ ...chart, columnMapping: nextMapping });
  }

  function setSeriesAxis(column: string, axis: number): void {
    setOptions({ ...chart, seriesOptions: { ...chart.seriesOptions, [column]: { ...chart.seriesOptions?.[column], yAxis: axis } } });
  }

  function submit(): void {
    // A refusal is shown by the global mutation toast; the editor stays open to fix and retry.
    save.mutate({ id: visualization?.id ?? null, body: { query_id: queryId, type, name, options, description: visualization?.description ?? '' } }, { onSuccess: (saved) => onClose(saved) });
  }

  return (
    <div className="dialog-backdrop" role="presentation" onKeyDown={(event) => event.key === 'Escape' && onClose(null)}>
      <section className="dialog wide" role="dialog" aria-modal="true" aria-label="Visualization editor">
        <header className="dialog-header">
          <h2>{visualization ? 'Edit visualization' : 'New visualization'}</h2>
          <button type="button" className="ghost" aria-label="Close" onClick={() => onClose(null)}>
            ×
          </button>
        </header>
        <div className="viz-editor">
          <form className="viz-options" onSubmit={(event) => event.preventDefault()}>
            <label>
              Visualization type
              <select value={type} onChange={(event) => changeType(event.target.value)} autoFocus>
                <option value="CHART">Chart</option>
                <option value="TABLE">Table</option>
                <option value="COUNTER">Counter</option>
                <option value="FUNNEL">Funnel</option>
                <option value="SANKEY">Sankey</option>
                <option value="SUNBURST_SEQUENCE">Sunburst sequence</option>
                <option value="DETAILS">Details view</option>
              </select>
            </label>
            <label>
              Visualization name
              <input value={name} onChange={(event) => setName(event.target.value)} />
            </label>
            {type === 'CHART' && (
              <>
                <label>
                  Chart type
                  <select value={chart.globalSeriesType ?? 'column'} onChange={(event) => setOptions({ ...chart, globalSeriesType: event.target.value as ChartType })}>
                    {CHART_TYPES.map(([value, label]) => (
                      <option key={value} value={value}>
                        {label}
                      </option>
                    ))}
                  </select>
                </label>
                <fieldset>
                  <legend>Columns</legend>
                  {columnNames.map((column) => (
                    <div key={column} className="column-role">
                      <span>{column}</span>
                      <select aria-label={`Role of ${column}`} value={mapping[column] ?? 'unused'} onChange={(event) => setRole(column, event.target.value)}>
                        <option value="unused">unused</option>
                        <option value="x">X</option>
                        <option value="y">Y</option>
                        <option value="series">Group by</option>
                        <option value="size">Size</option>
                      </select>
                      {mapping[column] === 'y' && (
                        <select aria-label={`Axis of ${column}`} value={chart.seriesOptions?.[column]?.yAxis ?? 0} onChange={(event) => setSeriesAxis(column, Number(event.target.value))}>
                          <option value={0}>left axis</option>
                          <option value={1}>right axis</option>
                        </select>
                      )}
                    </div>
                  ))}
                </fieldset>
                <label className="inline">
                  <input type="checkbox" checked={Boolean(chart.series?.stacking)} onChange={(event) => setOptions({ ...chart, series: { ...chart.series, stacking: event.target.checked ? 'stack' : null } })} /> Stack
                </label>
                <label className="inline">
                  <input type="checkbox" checked={chart.legend?.enabled !== false} onChange={(event) => setOptions({ ...chart, legend: { enabled: event.target.checked } })} /> Legend
                </label>
                <label className="inline">
                  <input type="checkbox" checked={Boolean(chart.showDataLabels)} onChange={(event) => setOptions({ ...chart, showDataLabels: event.target.checked })} /> Data labels
                </label>
              </>
            )}
            {type === 'FUNNEL' && (
              <>
                <label>
                  Step column
                  <select value={String((options.stepCol as { colName?: string } | undefined)?.colName ?? '')} onChange={(event) => setOptions({ ...options, stepCol: { ...(options.stepCol as object), colName: event.target.value } })}>
                    {columnNames.map((column) => (
                      <option key={column}>{column}</option>
                    ))}
                  </select>
                </label>
                <label>
                  Value column
                  <select value={String((options.valueCol as { colName?: string } | undefined)?.colName ?? '')} onChange={(event) => setOptions({ ...options, valueCol: { ...(options.valueCol as object), colName: event.target.value } })}>
                    {columnNames.map((column) => (
                      <option key={column}>{column}</option>
                    ))}
                  </select>
                </label>
              </>
            )}
            {(type === 'SANKEY' || type === 'SUNBURST_SEQUENCE') && <p className="muted">Name the columns stage1 … stage5 and value, as in Redash.</p>}
            {type === 'COUNTER' && (
              <>
                <label>
                  Value column
                  <select value={String(options.counterColName ?? '')} onChange={(event) => setOptions({ ...options, counterColName: event.target.value })}>
                    {columnNames.map((column) => (
                      <option key={column}>{column}</option>
                    ))}
                  </select>
                </label>
                <label>
                  Row number
                  <input type="number" value={Number(options.rowNumber ?? 1)} onChange={(event) => setOptions({ ...options, rowNumber: Number(event.target.value) })} />
                </label>
                <label>
                  Target column
                  <select value={String(options.targetColName ?? '')} onChange={(event) => setOptions({ ...options, targetColName: event.target.value || undefined })}>
                    <option value="">none</option>
                    {columnNames.map((column) => (
                      <option key={column}>{column}</option>
                    ))}
                  </select>
                </label>
                <label className="inline">
                  <input type="checkbox" checked={Boolean(options.countRow)} onChange={(event) => setOptions({ ...options, countRow: event.target.checked })} /> Count rows
                </label>
              </>
            )}
          </form>
          <div className="viz-preview">
            <VisualizationView visualization={{ type, name, options }} rows={rows} columns={columnNames} />
          </div>
        </div>
        <footer className="dialog-footer">
          <button type="button" onClick={() => onClose(null)}>
            Cancel
          </button>
          <button type="button" className="primary" disabled={save.isPending || !name.trim()} onClick={submit}>
            {save.isPending ? 'Saving…' : 'Save'}
          </button>
        </footer>
      </section>
    </div>
  );
}
