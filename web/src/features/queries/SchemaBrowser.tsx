// The schema browser: tables and their columns with types, filtered as you type; a click inserts
// the name into the editor.
import { useMemo, useState } from 'react';
import type { SchemaTable } from './api';

interface Props {
  schema: SchemaTable[];
  loading: boolean;
  error: string | null;
  onInsert: (text: string) => void;
  onRefresh: () => void;
}

function columnsOf(table: SchemaTable): { name: string; type: string | null }[] {
  return table.columns.map((column) => (typeof column === 'string' ? { name: column, type: null } : { name: column.name, type: column.type ?? null }));
}

export function filterSchema(schema: SchemaTable[], filter: string): SchemaTable[] {
  const needle = filter.trim().toLowerCase();
  if (!needle) return schema;
  return schema.flatMap((table) => {
    if (table.name.toLowerCase().includes(needle)) return [table];
    const columns = columnsOf(table).filter((column) => column.name.toLowerCase().includes(needle));
    return columns.length ? [{ ...table, columns }] : [];
  });
}

export function SchemaBrowser({ schema, loading, error, onInsert, onRefresh }: Props): React.JSX.Element {
  const [filter, setFilter] = useState('');
  const [open, setOpen] = useState<Set<string>>(new Set());
  const shown = useMemo(() => filterSchema(schema, filter), [schema, filter]);

  function toggle(name: string): void {
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(name)) next.delete(name);
      else next.add(name);
      return next;
    });
  }

  return (
    <aside className="schema-browser" aria-label="Schema">
      <div className="schema-tools">
        <input type="search" placeholder="Filter tables and columns" aria-label="Filter schema" value={filter} onChange={(event) => setFilter(event.target.value)} />
        <button type="button" className="ghost" title="Refresh schema" aria-label="Refresh schema" onClick={onRefresh}>
          ↻
        </button>
      </div>
      {loading && <p className="muted">Loading schema…</p>}
      {error && <p className="form-error">{error}</p>}
      {!loading && !error && shown.length === 0 && <p className="muted">{filter ? 'Nothing matches the filter.' : 'No tables.'}</p>}
      <ul className="schema-tables">
        {shown.map((table) => {
          const expanded = open.has(table.name) || filter.trim() !== '';
          return (
            <li key={table.name}>
              <div className="schema-table">
                <button type="button" className="ghost" aria-expanded={expanded} onClick={() => toggle(table.name)}>
                  {expanded ? '▾' : '▸'} {table.name}
                </button>
                <button type="button" className="ghost insert" aria-label={`Insert ${table.name}`} onClick={() => onInsert(table.name)}>
                  +
                </button>
              </div>
              {expanded && (
                <ul className="schema-columns">
                  {columnsOf(table).map((column) => (
                    <li key={column.name}>
                      <button type="button" className="ghost" onClick={() => onInsert(column.name)}>
                        {column.name}
                      </button>
                      {column.type && <span className="muted"> {column.type}</span>}
                    </li>
                  ))}
                </ul>
              )}
            </li>
          );
        })}
      </ul>
    </aside>
  );
}
