import { describe, expect, it } from 'vitest';
import { buildSeries, defaultChartOptions, toEChartsOption, type ChartOptions } from './chart';

type AnySeries = { type: string; name: string; yAxisIndex: number; stack?: string; large?: boolean; sampling?: string; data: unknown[] };

describe('Redash chart options', () => {
  const rows = [
    { day: '2026-01-02', region: 'north', sales: 5, visits: 50 },
    { day: '2026-01-01', region: 'north', sales: 3, visits: 30 },
    { day: '2026-01-01', region: 'south', sales: 4, visits: 40 },
  ];

  it('groups series by the series column and sorts x', () => {
    const { series } = buildSeries(rows, { columnMapping: { day: 'x', sales: 'y', region: 'series' } });
    expect(series.map((one) => one.name)).toEqual(['north', 'south']);
    expect(series[0]?.points.map((point) => point[0])).toEqual(['2026-01-01', '2026-01-02']);
  });

  it('stacks and puts series on the right axis as Redash options say', () => {
    const options: ChartOptions = {
      globalSeriesType: 'column',
      columnMapping: { day: 'x', sales: 'y', visits: 'y' },
      series: { stacking: 'stack' },
      seriesOptions: { visits: { type: 'line', yAxis: 1 } },
    };
    const option = toEChartsOption(rows, options) as { series: AnySeries[]; xAxis: { type: string } };
    const [sales, visits] = option.series;
    expect(option.xAxis.type).toBe('time');
    expect(sales).toMatchObject({ type: 'bar', stack: 'total', yAxisIndex: 0 });
    expect(visits).toMatchObject({ type: 'line', yAxisIndex: 1 });
  });

  it('draws pie slices from the first series', () => {
    const option = toEChartsOption(rows.slice(1), { globalSeriesType: 'pie', columnMapping: { region: 'x', sales: 'y' } }) as { series: { data: unknown[] }[] };
    expect(option.series[0]?.data).toEqual([
      { name: 'north', value: 3 },
      { name: 'south', value: 4 },
    ]);
  });

  it('turns 100k points into a sampled large-mode series quickly', () => {
    const many = Array.from({ length: 100_000 }, (_, index) => ({ x: index, y: Math.sin(index / 100) }));
    const started = performance.now();
    const option = toEChartsOption(many, { globalSeriesType: 'line', columnMapping: { x: 'x', y: 'y' } }) as { series: AnySeries[] };
    expect(performance.now() - started).toBeLessThan(1500);
    expect(option.series[0]).toMatchObject({ type: 'line', large: true, sampling: 'lttb' });
    expect(option.series[0]?.data).toHaveLength(100_000);
  });

  it('maps the first column to x and numeric columns to y for a new chart', () => {
    const options = defaultChartOptions([{ name: 'day', type: 'date' }, { name: 'sales', type: 'integer' }, { name: 'note', type: 'string' }]);
    expect(options.columnMapping).toEqual({ day: 'x', sales: 'y' });
  });
});
