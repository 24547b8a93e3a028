// The results grid: a virtualized window over a result of any size. Only the rows on screen are
// rendered, and rows arrive in pages from the server as they scroll into view, so a million-row
// result costs the browser what a screenful does. Sorting happens on the server.
import { useCallback, useEffect, useMemo, useReducer, useRef, useState, type KeyboardEvent } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { formatCell } from '../../lib/format';
import { fetchPage, PAGE_ROWS, type Column, type ResultPage, type Sort } from './api';

const ROW_HEIGHT = 26;
const DEFAULT_WIDTH = 160;
const MIN_WIDTH = 48;
const FETCH_DELAY_MS = 60;
const INDEX_WIDTH = 88;

interface Props {
  resultId: number;
  columns: Column[];
  rowCount: number;
  firstPage?: ResultPage;
  onError?: (error: unknown) => void;
}

export function ResultGrid({ resultId, columns, rowCount, firstPage, onError }: Props): React.JSX.Element {
  const scrollRef = useRef<HTMLDivElement>(null);
  const [sort, setSort] = useState<Sort | null>(null);
  const [widths, setWidths] = useState<number[]>(() => columns.map(() => DEFAULT_WIDTH));
  const [selected, setSelected] = useState<{ row: number; column: number } | null>(null);
  const [, pageArrived] = useReducer((n: number) => n + 1, 0);
  const pages = useRef(new Map<number, unknown[][]>());
  const inFlight = useRef(new Map<number, AbortController>());

  // Each sort order has its own page cache; the unsorted first page may come with the result.
  // (The parent keys this component by result id, so a new result starts from scratch.)
  const cacheKey = sort ? `${sort.column}:${sort.desc}` : '';
  const cacheKeyRef = useRef<string | null>(null);
  if (cacheKeyRef.current !== cacheKey) {
    cacheKeyRef.current = cacheKey;
    pages.current = new Map();
    inFlight.current.forEach((controller) => controller.abort());
    inFlight.current = new Map();
    if (firstPage && !sort) pages.current.set(0, firstPage.rows);
  }

  useEffect(() => setWidths(columns.map(() => DEFAULT_WIDTH)), [columns]);

  const virtualizer = useVirtualizer({
    count: rowCount,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
  const items = virtualizer.getVirtualItems();
  const firstRow = items[0]?.index ?? 0;
  const lastRow = items[items.length - 1]?.index ?? 0;

  // Pages are fetched once the visible range has been still for a moment: a fast scroll across a
  // million rows would otherwise queue hundreds of page reads the user never looks at, and the
  // page in view would wait behind them. Reads of pages that left the view are aborted.
  useEffect(() => {
    if (rowCount === 0) return;
    const key = cacheKeyRef.current;
    const timer = setTimeout(() => {
      const first = Math.floor(firstRow / PAGE_ROWS);
      const last = Math.floor(lastRow / PAGE_ROWS);
      const pending = inFlight.current;
      for (const [page, controller] of pending) {
        if (page < first || page > last) {
          controller.abort();
          pending.delete(page);
        }
      }
      for (let page = first; page <= last; page++) {
        if (pages.current.has(page) || pending.has(page)) continue;
        const controller = new AbortController();
        pending.set(page, controller);
        fetchPage(resultId, page * PAGE_ROWS, PAGE_ROWS, sort, controller.signal)
          .then((reply) => {
            if (cacheKeyRef.current !== key) return;
            pages.current.set(page, reply.rows);
            pageArrived();
          })
          .catch((error: unknown) => {
            if (!controller.signal.aborted) onError?.(error);
          })
          .finally(() => {
            if (pending.get(page) === controller) pending.delete(page);
          });
      }
    }, FETCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [firstRow, lastRow, resultId, sort, rowCount, onError]);

  useEffect(() => () => inFlight.current.forEach((controller) => controller.abort()), []);

  const rowAt = useCallback((index: number): unknown[] | undefined => pages.current.get(Math.floor(index / PAGE_ROWS))?.[index % PAGE_ROWS], []);

  const template = useMemo(() => `${INDEX_WIDTH}px ${widths.map((width) => `${width}px`).join(' ')}`, [widths]);
  const totalWidth = useMemo(() => widths.reduce((sum, width) => sum + width, INDEX_WIDTH), [widths]);

  function toggleSort(name: string): void {
    setSort((current) => (current?.column !== name ? { column: name, desc: false } : current.desc ? null : { column: name, desc: true }));
  }

  function startResize(column: number, startX: number): void {
    const startWidth = widths[column] ?? DEFAULT_WIDTH;
    const move = (event: MouseEvent) => {
      const width = Math.max(MIN_WIDTH, startWidth + event.clientX - startX);
      setWidths((current) => current.map((value, index) => (index === column ? width : value)));
    };
    const up = () => {
      window.removeEventListener('mousemove', move);
      window.removeEventListener('mouseup', up);
    };
    window.addEventListener('mousemove', move);
    window.addEventListener('mouseup', up);
  }

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>): void {
    if (!selected) return;
    const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const move = moves[event.key];
    if (move) {
      event.preventDefault();
      const row = Math.min(rowCount - 1, Math.max(0, selected.row + move[0]));
      const column = Math.min(columns.length - 1, Math.max(0, selected.column + move[1]));
      setSelected({ row, column });
      virtualizer.scrollToIndex(row);
    } else if ((event.ctrlKey || event.metaKey) && event.key === 'c') {
      const value = rowAt(selected.row)?.[selected.column];
      void navigator.clipboard?.writeText(formatCell(value));
    }
  }

  if (columns.length === 0) return <p className="muted">This result has no columns.</p>;

  return (
    <div className="grid" role="grid" aria-rowcount={rowCount + 1} aria-colcount={columns.length} tabIndex={0} onKeyDown={onKeyDown}>
      <div className="grid-scroll" ref={scrollRef} data-testid="grid-scroll">
        <div className="grid-header" role="row" style={{ gridTemplateColumns: template, width: totalWidth }}>
          <div className="grid-cell grid-index" role="columnheader">
            #
          </div>
          {columns.map((column, index) => (
            <div key={column.name} className="grid-cell" role="columnheader" aria-sort={sort?.column === column.name ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
              <button type="button" className="grid-sort" onClick={() => toggleSort(column.name)} title={`Sort by ${column.name}`}>
                {column.friendly_name || column.name}
                {sort?.column === column.name ? (sort.desc ? ' ▼' : ' ▲') : ''}
              </button>
              <span className="grid-type">{column.type ?? ''}</span>
              <span
                className="grid-resize"
                role="separator"
                aria-label={`Resize ${column.name}`}
                onMouseDown={(event) => {
                  event.preventDefault();
                  startResize(index, event.clientX);
                }}
              />
            </div>
          ))}
        </div>
        <div style={{ height: virtualizer.getTotalSize(), width: totalWidth, position: 'relative' }}>
          {items.map((item) => {
            const row = rowAt(item.index);
            return (
              <div
                key={item.key}
                className="grid-row"
                role="row"
                aria-rowindex={item.index + 2}
                data-row={item.index}
                style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT, gridTemplateColumns: template }}
              >
                <div className="grid-cell grid-index">{item.index + 1}</div>
                {columns.map((column, columnIndex) => (
                  <div
                    key={column.name}
                    role="gridcell"
                    className={`grid-cell${selected?.row === item.index && selected.column === columnIndex ? ' selected' : ''}`}
                    onClick={() => setSelected({ row: item.index, column: columnIndex })}
                  >
                    {row ? formatCell(row[columnIndex]) : '…'}
                  </div>
                ))}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
