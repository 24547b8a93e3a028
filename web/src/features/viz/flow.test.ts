import { describe, expect, it } from 'vitest';
import { funnelOption, sankeyOption, sunburstOption } from './flow';

const journeys = [
  { stage1: 'home', stage2: 'search', stage3: 'buy', value: 10 },
  { stage1: 'home', stage2: 'search', stage3: null, value: 5 },
  { stage1: 'home', stage2: 'home', stage3: 'buy', value: 2 },
];

describe('funnel, sankey and sunburst from Redash data', () => {
  it('sorts funnel steps and labels them as a share of the top', () => {
    const option = funnelOption(
      [
        { step: 'visit', users: 50 },
        { step: 'signup', users: 100 },
      ],
      { stepCol: { colName: 'step' }, valueCol: { colName: 'users' } },
    ) as { series: { data: { name: string }[] }[] };
    expect(option.series[0]?.data.map((item) => item.name)).toEqual(['signup', 'visit']);
  });

  it('sums links between consecutive stages and keeps a label at two stages apart', () => {
    const option = sankeyOption(journeys) as { series: { links: { source: string; target: string; value: number }[] }[] };
    expect(option.series[0]?.links).toEqual([
      { source: '1. home', target: '2. search', value: 15 },
      { source: '2. search', target: '3. buy', value: 10 },
      { source: '1. home', target: '2. home', value: 2 },
      { source: '2. home', target: '3. buy', value: 2 },
    ]);
  });

  it('nests stages into a tree whose values add up', () => {
    const option = sunburstOption(journeys) as { series: { data: { name: string; value: number; children: { name: string; value: number }[] }[] }[] };
    const home = option.series[0]?.data[0];
    expect(home).toMatchObject({ name: 'home', value: 17 });
    expect(home?.children.map((child) => [child.name, child.value])).toEqual([
      ['search', 15],
      ['home', 2],
    ]);
  });
});
