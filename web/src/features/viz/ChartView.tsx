// Draws a Redash CHART visualization with ECharts on a canvas (tree-shaken: only the chart kinds
// Redash has are bundled).
import { useEffect, useRef, useSyncExternalStore } from 'react';
import * as echarts from 'echarts/core';
import { BarChart, BoxplotChart, HeatmapChart, LineChart, PieChart, ScatterChart } from 'echarts/charts';
import { DataZoomComponent, GridComponent, LegendComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { effectiveTheme, onThemeChange } from '../../lib/theme';
import { toEChartsOption, type ChartOptions, type Row } from './chart';

echarts.use([
  BarChart,
  BoxplotChart,
  HeatmapChart,
  LineChart,
  PieChart,
  ScatterChart,
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  TooltipComponent,
  VisualMapComponent,
  CanvasRenderer,
]);

export function ChartView({ rows, options }: { rows: Row[]; options: ChartOptions }): React.JSX.Element {
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
    chart.current?.setOption(toEChartsOption(rows, options, dark), { notMerge: true });
  }, [rows, options, dark]);

  return <div className="chart" ref={element} data-testid="chart" role="img" aria-label="Chart" />;
}
