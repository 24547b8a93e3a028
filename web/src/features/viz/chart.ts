// Redash's CHART options blob turned into an ECharts option. The blob is Redash's own shape
// (`globalSeriesType`, `columnMapping`, `seriesOptions`, `xAxis`, `yAxis[]`, `series.stacking`),
// so visualizations imported from Redash draw without conversion.
import type { EChartsCoreOption } from 'echarts/core';

export type Row = Record<string, unknown>;
export type ChartType = 'line' | 'column' | 'area' | 'pie' | 'scatter' | 'bubble' | 'heatmap' | 'box';

export interface SeriesOptions {
  type?: ChartType;
  yAxis?: number;
  name?: string;
  color?: string;
  zIndex?: number;
  index?: number;
}

export interface ChartOptions {
  globalSeriesType?: ChartType;
  columnMapping?: Record<string, 'x' | 'y' | 'series' | 'size' | 'zVal' | 'yError' | 'unused'>;
  seriesOptions?: Record<string, SeriesOptions>;
  series?: { stacking?: string | null; percentValues?: boolean };
  xAxis?: { type?: string; title?: { text?: string }; labels?: { enabled?: boolean } };
  yAxis?: { type?: string; title?: { text?: string }; opposite?: boolean; rangeMin?: number; rangeMax?: number }[];
  legend?: { enabled?: boolean };
  sortX?: boolean;
  swappedAxes?: boolean;
  showDataLabels?: boolean;
  numberFormat?: string;
}

/** Sensible options for a new chart over these columns: the first as x, the numeric rest as y. */
export function defaultChartOptions(columns: { name: string; type?: string | null }[]): ChartOptions {
  const [x, ...rest] = columns;
  const numeric = rest.filter((column) => column.type === 'integer' || column.type === 'float');
  const mapping: ChartOptions['columnMapping'] = {};
  if (x) mapping[x.name] = 'x';
  for (const column of numeric.length ? numeric : rest.slice(0, 1)) mapping[column.name] = 'y';
  return {
    globalSeriesType: 'column',
    columnMapping: mapping,
    seriesOptions: {},
    series: { stacking: null },
    xAxis: { type: '-', labels: { enabled: true } },
    yAxis: [{ type: 'linear' }, { type: 'linear', opposite: true }],
    legend: { enabled: true },
    sortX: true,
  };
}

function columnsWith(options: ChartOptions, role: string): string[] {
  return Object.entries(options.columnMapping ?? {})
    .filter(([, mapped]) => mapped === role)
    .map(([name]) => name);
}

interface Series {
  name: string;
  column: string;
  points: [unknown, number | null, number | null][];
}

/** Rows split into series: one per y column, or one per value of the `series` column. */
export function buildSeries(rows: Row[], options: ChartOptions): { x: string | undefined; series: Series[] } {
  const x = columnsWith(options, 'x')[0];
  const ys = columnsWith(options, 'y');
  const group = columnsWith(options, 'series')[0];
  const size = columnsWith(options, 'size')[0] ?? columnsWith(options, 'zVal')[0];
  const byName = new Map<string, Series>();
  for (const row of rows) {
    for (const y of ys) {
      const name = group !== undefined ? String(row[group] ?? '') + (ys.length > 1 ? ` · ${y}` : '') : y;
      let series = byName.get(name);
      if (!series) {
        series = { name, column: y, points: [] };
        byName.set(name, series);
      }
      const value = row[y];
      const sizeValue = size !== undefined ? Number(row[size]) : null;
      series.points.push([x !== undefined ? row[x] : series.points.length, value === null || value === undefined ? null : Number(value), sizeValue]);
    }
  }
  const series = [...byName.values()];
  if (options.sortX !== false && x !== undefined) {
    for (const one of series) one.points.sort((a, b) => compare(a[0], b[0]));
  }
  return { x, series };
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b));
}

function isNumericAxis(series: Series[]): boolean {
  return series.every((one) => one.points.every((point) => typeof point[0] === 'number'));
}

function isTimeAxis(series: Series[]): boolean {
  return series.every((one) => one.points.every((point) => typeof point[0] === 'string' && /^\d{4}-\d{2}-\d{2}/.test(point[0])));
}

/** Above this many points a series is drawn in ECharts' large mode and sampled, so 100k+ stay fast. */
const LARGE = 5000;

export function toEChartsOption(rows: Row[], options: ChartOptions, dark = false): EChartsCoreOption {
  const type = options.globalSeriesType ?? 'column';
  const { series } = buildSeries(rows, options);
  const stacked = options.series?.stacking ? 'total' : undefined;
  const legend = { show: options.legend?.enabled !== false, type: 'scroll' as const, bottom: 0 };
  const base = { backgroundColor: 'transparent', darkMode: dark, animation: rows.length < 2000, tooltip: { trigger: type === 'pie' ? 'item' : 'axis' }, legend };

  if (type === 'pie') {
    const first = series[0];
    return {
      ...base,
      series: [
        {
          type: 'pie',
          radius: ['0%', '70%'],
          data: (first?.points ?? []).map(([name, value]) => ({ name: String(name), value })),
          label: { show: options.showDataLabels !== false },
        },
      ],
    };
  }

  if (type === 'heatmap') {
    const points = series.flatMap((one) => one.points.map(([x, y, z]) => [String(x), String(y), z ?? y]));
    const xs = [...new Set(points.map((point) => point[0] as string))];
    const ys = [...new Set(points.map((point) => point[1] as string))];
    const values = points.map((point) => Number(point[2]));
    return {
      ...base,
      tooltip: { position: 'top' },
      xAxis: { type: 'category', data: xs },
      yAxis: { type: 'category', data: ys },
      visualMap: { min: Math.min(...values), max: Math.max(...values), calculable: true, orient: 'horizontal', left: 'center', bottom: 0 },
      series: [{ type: 'heatmap', data: points.map(([x, y, z]) => [xs.indexOf(x as string), ys.indexOf(y as string), z]) }],
    };
  }

  if (type === 'box') {
    return {
      ...base,
      xAxis: { type: 'category', data: series.map((one) => one.name) },
      yAxis: { type: 'value' },
      series: [{ type: 'boxplot', data: series.map((one) => boxStats(one.points.map((point) => point[1]).filter((value): value is number => value !== null))) }],
    };
  }

  const numericX = isNumericAxis(series);
  const xType = options.xAxis?.type === 'category' ? 'category' : numericX ? 'value' : isTimeAxis(series) ? 'time' : 'category';
  const categories = xType === 'category' ? [...new Set(series.flatMap((one) => one.points.map((point) => String(point[0]))))] : undefined;
  const yAxes = [0, 1].map((index) => {
    const axis = options.yAxis?.[index];
    return {
      type: axis?.type === 'logarithmic' ? 'log' : 'value',
      name: axis?.title?.text,
      position: index === 1 ? 'right' : 'left',
      min: axis?.rangeMin,
      max: axis?.rangeMax,
      splitLine: { show: index === 0 },
    };
  });
  const xAxis = { type: xType, name: options.xAxis?.title?.text, data: categories, axisLabel: { show: options.xAxis?.labels?.enabled !== false } };

  return {
    ...base,
    grid: { left: 56, right: 56, top: 24, bottom: 56 },
    xAxis: options.swappedAxes ? yAxes[0] : xAxis,
    yAxis: options.swappedAxes ? xAxis : yAxes,
    series: series.map((one) => {
      const own = options.seriesOptions?.[one.column] ?? options.seriesOptions?.[one.name] ?? {};
      const seriesType = own.type ?? type;
      const large = one.points.length > LARGE;
      const data = one.points.map(([x, y, size]) => (seriesType === 'bubble' ? [x, y, size] : [xType === 'category' ? String(x) : x, y]));
      const common = {
        name: own.name ?? one.name,
        yAxisIndex: own.yAxis === 1 ? 1 : 0,
        z: own.zIndex,
        color: own.color,
        data,
        label: { show: Boolean(options.showDataLabels) && !large },
      };
      switch (seriesType) {
        case 'line':
        case 'area':
          return { ...common, type: 'line', stack: stacked, areaStyle: seriesType === 'area' ? {} : undefined, showSymbol: !large, sampling: 'lttb', large };
        case 'scatter':
          return { ...common, type: 'scatter', large, symbolSize: large ? 2 : 6 };
        case 'bubble':
          return { ...common, type: 'scatter', symbolSize: (value: number[]) => Math.max(4, Math.sqrt(Math.abs(Number(value[2]) || 0)) * 2) };
        default:
          return { ...common, type: 'bar', stack: stacked, large, progressive: large ? 5000 : undefined };
      }
    }),
    dataZoom: rows.length > LARGE ? [{ type: 'inside' }, { type: 'slider', bottom: 24 }] : undefined,
  };
}

function boxStats(values: number[]): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => {
    if (sorted.length === 0) return 0;
    const position = (sorted.length - 1) * q;
    const low = Math.floor(position);
    const high = Math.ceil(position);
    return (sorted[low] as number) + ((sorted[high] as number) - (sorted[low] as number)) * (position - low);
  };
  return [at(0), at(0.25), at(0.5), at(0.75), at(1)];
}
