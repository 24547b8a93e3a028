// Redash's FUNNEL, SANKEY and SUNBURST_SEQUENCE as ECharts options. Sankey and sunburst read
// Redash's data convention (columns `stage1` … `stage5` and `value`); the funnel reads its
// options blob (`stepCol.colName`, `valueCol.colName`, `autoSort`).
import type { EChartsCoreOption } from 'echarts/core';
import type { Row } from './chart';

export interface FunnelOptions {
  stepCol?: { colName?: string; displayAs?: string };
  valueCol?: { colName?: string; displayAs?: string };
  autoSort?: boolean;
  itemsLimit?: number;
}

export function funnelOption(rows: Row[], options: FunnelOptions): EChartsCoreOption {
  const step = options.stepCol?.colName ?? '';
  const value = options.valueCol?.colName ?? '';
  let data = rows.map((row) => ({ name: String(row[step] ?? ''), value: Number(row[value] ?? 0) }));
  if (options.autoSort !== false) data = [...data].sort((a, b) => b.value - a.value);
  data = data.slice(0, options.itemsLimit ?? 100);
  const top = data[0]?.value || 1;
  return {
    backgroundColor: 'transparent',
    tooltip: { trigger: 'item', formatter: '{b}: {c}' },
    series: [{ type: 'funnel', sort: 'none', left: '10%', width: '80%', data, label: { formatter: (item: { name: string; value: number }) => `${item.name} (${Math.round((item.value / top) * 100)}%)` } }],
  };
}

function stageColumns(rows: Row[]): string[] {
  const first = rows[0] ?? {};
  return ['stage1', 'stage2', 'stage3', 'stage4', 'stage5'].filter((column) => column in first);
}

/** Links between consecutive stages, summed; a stage's node is named by its stage number so the
 *  same label at two stages stays two nodes (a sankey must not loop). */
export function sankeyOption(rows: Row[]): EChartsCoreOption {
  const stages = stageColumns(rows);
  const links = new Map<string, { source: string; target: string; value: number }>();
  const nodes = new Set<string>();
  for (const row of rows) {
    const path = stages.map((stage, index) => (row[stage] === null || row[stage] === undefined || row[stage] === '' ? null : `${index + 1}. ${String(row[stage])}`));
    for (let index = 0; index + 1 < path.length; index++) {
      const source = path[index];
      const target = path[index + 1];
      if (!source || !target) break;
      nodes.add(source).add(target);
      const key = `${source}\u0000${target}`;
      const link = links.get(key) ?? { source, target, value: 0 };
      link.value += Number(row.value ?? 0);
      links.set(key, link);
    }
  }
  return {
    backgroundColor: 'transparent',
    tooltip: { trigger: 'item' },
    series: [{ type: 'sankey', data: [...nodes].map((name) => ({ name })), links: [...links.values()], emphasis: { focus: 'adjacency' } }],
  };
}

interface TreeNode {
  name: string;
  value: number;
  children: TreeNode[];
}

export function sunburstOption(rows: Row[]): EChartsCoreOption {
  const stages = stageColumns(rows);
  const root: TreeNode = { name: '', value: 0, children: [] };
  for (const row of rows) {
    let node = root;
    for (const stage of stages) {
      const label = row[stage];
      if (label === null || label === undefined || label === '') break;
      let child = node.children.find((one) => one.name === String(label));
      if (!child) {
        child = { name: String(label), value: 0, children: [] };
        node.children.push(child);
      }
      child.value += Number(row.value ?? 0);
      node = child;
    }
  }
  return {
    backgroundColor: 'transparent',
    tooltip: { trigger: 'item' },
    series: [{ type: 'sunburst', radius: ['10%', '90%'], data: root.children, label: { rotate: 'radial' } }],
  };
}
