// Draws a Redash CHART visualization with ECharts on a canvas (tree-shaken: only the chart kinds
// Redash has are bundled).
import { useCallback, useEffect, useRef, useSyncExternalStore } from 'react';
import * as echarts from 'echarts/core';
import { BarChart, BoxplotChart, FunnelChart, HeatmapChart, LineChart, PieChart, SankeyChart, ScatterChart, SunburstChart } from 'echarts/charts';
import { DataZoomComponent, GridComponent, LegendComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { effectiveTheme, onThemeChange } from '../../lib/theme';
import type { EChartsCoreOption } from 'echarts/core';
import { toEChartsOption, type ChartOptions, type Row } from './chart';

echarts.use([
  BarChart,
  BoxplotChart,
  FunnelChart,
  HeatmapChart,
  LineChart,
  PieChart,
  SankeyChart,
  ScatterChart,
  SunburstChart,
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  TooltipComponent,
  VisualMapComponent,
  CanvasRenderer,
]);

/** Draws any ECharts option; `build` gets whether the theme is dark. */
export function EChartsView({ build, label }: { build: (dark: boolean) => EChartsCoreOption; label: string }): React.JSX.Element {
  const element = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  // ECharts themes are fixed at init, so a theme switch draws the chart anew.
  const dark = useSyncExternalStore(onThemeChange, () => effectiveTheme() === 'dark');

  useEffect(() => {
    if (!element.current) return;
    const instance = echarts.init(element.current, dark ? 'dark' : undefined, { renderer: 'canvas' });
    chart.current = instance;
    const observer = new ResizeObserver(() => instance.resize());
    observer.observe(element.current);
    return () => {
      observer.disconnect();
      instance.dispose();
      chart.current = null;
    };
  }, [dark]);

  useEffect(() => {
    chart.current?.setOption(build(dark), { notMerge: true });
  }, [build, dark]);

  return <div className="chart" ref={element} data-testid="chart" role="img" aria-label={label} />;
}

export function ChartView({ rows, options }: { rows: Row[]; options: ChartOptions }): React.JSX.Element {
  const build = useCallback((dark: boolean) => toEChartsOption(rows, options, dark), [rows, options]);
  return <EChartsView build={build} label="Chart" />;
}
