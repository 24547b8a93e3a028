import { lazy, Suspense, useCallback } from 'react';
import type { EChartsCoreOption } from 'echarts/core';
import { funnelOption, sankeyOption, sunburstOption, type FunnelOptions } from './flow';
import { DetailsView } from './DetailsView';
import { CounterView, type CounterOptions } from './CounterView';
import { TableView, type TableOptions } from './TableView';
import type { ChartOptions, Row } from './chart';
import type { Visualization } from './api';

// ECharts is most of the bundle: load it when the first chart is drawn, not with the app.
const ChartView = lazy(async () => ({ default: (await import('./ChartView')).ChartView }));
const EChartsView = lazy(async () => ({ default: (await import('./ChartView')).EChartsView }));

function Drawn({ build, label }: { build: (dark: boolean) => EChartsCoreOption; label: string }): React.JSX.Element {
  return (
    <Suspense fallback={<p className="muted">Loading chart…</p>}>
      <EChartsView build={build} label={label} />
    </Suspense>
  );
}

/** Draws any saved visualization from its Redash type and options blob. */
export function VisualizationView({ visualization, rows, columns }: { visualization: Pick<Visualization, 'type' | 'name' | 'options'>; rows: Row[]; columns: string[] }): React.JSX.Element {
  const options = visualization.options as Record<string, unknown>;
  const type = visualization.type;
  const build = useCallback(
    (): EChartsCoreOption => (type === 'FUNNEL' ? funnelOption(rows, options as FunnelOptions) : type === 'SANKEY' ? sankeyOption(rows) : sunburstOption(rows)),
    [type, rows, options],
  );
  switch (type) {
    case 'FUNNEL':
    case 'SANKEY':
    case 'SUNBURST_SEQUENCE':
      return <Drawn build={build} label={type.toLowerCase()} />;
    case 'DETAILS':
      return <DetailsView rows={rows} columns={columns} />;
    case 'CHART':
      return (
        <Suspense fallback={<p className="muted">Loading chart…</p>}>
          <ChartView rows={rows} options={options as ChartOptions} />
        </Suspense>
      );
    case 'COUNTER':
      return <CounterView rows={rows} options={options as CounterOptions} name={visualization.name} />;
    case 'TABLE':
      return <TableView rows={rows} columns={columns} options={options as TableOptions} />;
    default:
      return <p className="muted">{visualization.type} visualizations cannot be drawn by this version of the UI yet.</p>;
  }
}
