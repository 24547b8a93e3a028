// Display of cell values and durations, shared by the grid, tables and counters.

export function formatCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function formatDuration(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

export function formatNumber(value: number, decimals?: number): string {
  return value.toLocaleString(undefined, decimals === undefined ? undefined : { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}
