// The query page: editor, schema, parameters, run with live status, results and visualizations.
// It composes the queries, results and viz features; each owns its own server state.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import { showError, showToast } from '../../components/toast';
import { EmptyState } from '../../components/EmptyState';
import { formatDuration } from '../../lib/format';
import {
  formatSql,
  useCreateQuery,
  useDataSources,
  useSaveQuery,
  useSavedQuery,
  useSchema,
  useSnippets,
  type Parameter,
  type Query,
  type QueryInput,
} from '../../features/queries/api';
import { SqlEditor, insertIntoEditor } from '../../features/queries/SqlEditor';
import { SchemaBrowser } from '../../features/queries/SchemaBrowser';
import { ParameterDefinition, ParameterWidget } from '../../features/queries/ParameterWidgets';
import { parameterValues, syncParameters } from '../../features/queries/parameters';
import { useRun, type RunState } from '../../features/queries/useRun';
import { QueryExtras } from '../../features/queries/QueryExtras';
import { ResultPanel } from '../../features/results/ResultPanel';
import { useWholeResult } from '../../features/results/api';
import { VisualizationView } from '../../features/viz/VisualizationView';
import { VisualizationEditor } from '../../features/viz/VisualizationEditor';
import type { Visualization } from '../../features/viz/api';

interface Draft {
  name: string;
  text: string;
  dataSourceId: number | null;
  parameters: Parameter[];
}

function draftOf(query: Query): Draft {
  return { name: query.name, text: query.query, dataSourceId: query.data_source_id ?? null, parameters: query.options.parameters ?? [] };
}

function RunStatus({ state }: { state: RunState }): React.JSX.Element | null {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (state.phase !== 'running') return;
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, [state.phase]);
  switch (state.phase) {
    case 'starting':
      return <span role="status">Starting…</span>;
    case 'queued':
      return <span role="status">Queued{state.position != null ? ` (position ${state.position + 1})` : ''}…</span>;
    case 'running':
      return <span role="status">Running… {formatDuration(Math.max(0, now - state.startedAt) / 1000)}</span>;
    case 'failed':
      return (
        <span role="alert" className="form-error">
          {state.message}
        </span>
      );
    case 'cancelled':
      return <span role="status">Cancelled.</span>;
    default:
      return null;
  }
}

export function QueryPage(): React.JSX.Element {
  const params = useParams();
  const navigate = useNavigate();
  const id = params.id && params.id !== 'new' ? Number(params.id) : null;
  const saved = useSavedQuery(id);
  const dataSources = useDataSources();
  const snippets = useSnippets();
  const create = useCreateQuery();
  const save = useSaveQuery();
  const { state: run, run: startRun, cancel } = useRun();
  const [draft, setDraft] = useState<Draft | null>(id === null ? { name: 'New Query', text: '', dataSourceId: null, parameters: [] } : null);
  const [resultId, setResultId] = useState<number | null>(null);
  const [tab, setTab] = useState<number | 'table'>('table');
  const [editing, setEditing] = useState<Visualization | 'new' | null>(null);
  const [editingParameters, setEditingParameters] = useState(false);
  const editorBox = useRef<HTMLDivElement>(null);

  // A loaded or newly saved version of the query replaces the draft; so does its latest result
  // when nothing was run here yet.
  const loadedVersion = saved.data ? `${saved.data.id}:${saved.data.version}` : null;
  useEffect(() => {
    if (!saved.data) return;
    setDraft(draftOf(saved.data));
    const latest = saved.data.latest_query_data_id ?? null;
    setResultId((current) => current ?? latest);
  }, [loadedVersion]);

  useEffect(() => {
    if (draft && draft.dataSourceId === null && dataSources.data?.[0]) setDraft({ ...draft, dataSourceId: dataSources.data[0].id });
  }, [dataSources.data, draft]);

  useEffect(() => {
    if (run.phase === 'done') setResultId(run.resultId);
  }, [run]);

  const schema = useSchema(draft?.dataSourceId ?? null);
  const whole = useWholeResult(tab !== 'table' && resultId !== null ? resultId : null);
  const query = saved.data;
  const isDirty = Boolean(query && draft && (draft.text !== query.query || draft.name !== query.name || draft.dataSourceId !== query.data_source_id || JSON.stringify(draft.parameters) !== JSON.stringify(query.options.parameters ?? [])));

  const setText = useCallback((text: string) => setDraft((current) => (current ? { ...current, text, parameters: syncParameters(current.parameters, text) } : current)), []);

  const execute = useCallback(() => {
    if (!draft) return;
    if (!draft.text.trim()) {
      showToast('error', 'Write a query to run.');
      return;
    }
    const useSaved = query !== undefined && !isDirty;
    void startRun({ queryId: useSaved ? query.id : null, text: draft.text, dataSourceId: draft.dataSourceId, parameters: parameterValues(draft.parameters) });
  }, [draft, query, isDirty, startRun]);

  const persist = useCallback(() => {
    if (!draft) return;
    const body: QueryInput = {
      name: draft.name,
      query: draft.text,
      data_source_id: draft.dataSourceId ?? undefined,
      options: { ...(query?.options ?? {}), parameters: draft.parameters },
    };
    if (query) {
      save.mutate({ id: query.id, body: { ...body, version: query.version } }, { onSuccess: () => showToast('success', 'Saved.') });
    } else {
      create.mutate(body, {
        onSuccess: (created) => {
          showToast('success', 'Saved.');
          navigate(`/queries/${created.id}`, { replace: true });
        },
      });
    }
  }, [draft, query, save, create, navigate]);

  const format = useCallback(() => {
    if (!draft) return;
    formatSql(draft.text).then(setText, showError);
  }, [draft, setText]);

  // Run and save work anywhere on the page, not only inside the editor (which handles its own
  // keys first and marks them handled).
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented || !(event.ctrlKey || event.metaKey)) return;
      if (event.key === 'Enter') {
        event.preventDefault();
        execute();
      } else if (event.key === 's') {
        event.preventDefault();
        persist();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [execute, persist]);

  const visualizations = useMemo(() => (query?.visualizations ?? []).filter((one) => one.type !== 'TABLE' || one.name !== 'Table'), [query]);
  const rows = useMemo(() => (whole.data?.data.rows ?? []) as Record<string, unknown>[], [whole.data]);
  const columns = whole.data?.data.columns ?? [];

  if (id !== null && saved.isError) return <EmptyState title="This query could not be loaded">{saved.error.message}</EmptyState>;
  if (!draft) return <p className="page muted">Loading…</p>;
  const running = run.phase === 'starting' || run.phase === 'queued' || run.phase === 'running';
  const noDataSources = dataSources.data && dataSources.data.length === 0;

  return (
    <main className="page query-page">
      <header className="page-header">
        <input className="title-input" aria-label="Query name" value={draft.name} onChange={(event) => setDraft({ ...draft, name: event.target.value })} />
        {query?.is_draft && <span className="badge">Draft</span>}
        {query?.is_archived && <span className="badge">Archived</span>}
        <span className="spacer" />
        <button type="button" onClick={format} title="Format (Ctrl+Shift+F)">
          Format
        </button>
        <button type="button" className="primary" onClick={persist} disabled={save.isPending || create.isPending} title="Save (Ctrl+S)">
          {isDirty || !query ? 'Save' : 'Saved'}
        </button>
      </header>
      {noDataSources && (
        <EmptyState title="No data sources">
          <p>An admin has to add a data source before queries can run.</p>
        </EmptyState>
      )}
      <div className="editor-layout">
        <SchemaBrowser
          schema={schema.data ?? []}
          loading={schema.isLoading}
          error={schema.error?.message ?? null}
          onInsert={(text) => insertIntoEditor(editorBox.current, text)}
          onRefresh={() => void schema.refetch()}
        />
        <div className="editor-column" ref={editorBox}>
          <div className="editor-toolbar">
            <label>
              Data source
              <select aria-label="Data source" value={draft.dataSourceId ?? ''} onChange={(event) => setDraft({ ...draft, dataSourceId: Number(event.target.value) })}>
                {(dataSources.data ?? []).map((source) => (
                  <option key={source.id} value={source.id}>
                    {source.name}
                    {source.paused ? ' (paused)' : ''}
                  </option>
                ))}
              </select>
            </label>
            <span className="spacer" />
            <RunStatus state={run} />
            {running ? (
              <button type="button" onClick={() => cancel().catch(showError)}>
                Cancel
              </button>
            ) : (
              <button type="button" className="primary" onClick={execute} title="Run (Ctrl+Enter)">
                Run
              </button>
            )}
          </div>
          <SqlEditor value={draft.text} onChange={setText} schema={schema.data ?? []} snippets={snippets.data ?? []} onRun={execute} onSave={persist} onFormat={format} />
          {draft.parameters.length > 0 && (
            <div className="parameters" aria-label="Parameters">
              {draft.parameters.map((parameter, index) => (
                <label key={parameter.name} className="parameter">
                  {parameter.title || parameter.name}
                  <ParameterWidget
                    queryId={query?.id ?? null}
                    parameter={parameter}
                    onChange={(value) => setDraft({ ...draft, parameters: draft.parameters.map((one, at) => (at === index ? { ...one, value } : one)) })}
                  />
                </label>
              ))}
              <button type="button" className="ghost" onClick={() => setEditingParameters(!editingParameters)} aria-expanded={editingParameters}>
                {editingParameters ? 'Done' : 'Edit parameters'}
              </button>
              {editingParameters &&
                draft.parameters.map((parameter, index) => (
                  <ParameterDefinition key={parameter.name} parameter={parameter} onChange={(next) => setDraft({ ...draft, parameters: draft.parameters.map((one, at) => (at === index ? next : one)) })} />
                ))}
            </div>
          )}
        </div>
      </div>
      <section className="results" aria-label="Results">
        <div className="tabs" role="tablist">
          <button type="button" role="tab" aria-selected={tab === 'table'} onClick={() => setTab('table')}>
            Table
          </button>
          {visualizations.map((visualization) => (
            <button key={visualization.id} type="button" role="tab" aria-selected={tab === visualization.id} onClick={() => setTab(visualization.id)}>
              {visualization.name}
            </button>
          ))}
          {query && resultId !== null && (
            <button
              type="button"
              className="ghost"
              onClick={() => {
                setTab('table');
                setEditing('new');
              }}
            >
              + Add visualization
            </button>
          )}
        </div>
        {resultId === null ? (
          <EmptyState title="No result yet">
            <p>Run the query (Ctrl+Enter) to see its result here.</p>
          </EmptyState>
        ) : tab === 'table' ? (
          <ResultPanel resultId={resultId} />
        ) : (
          (() => {
            const visualization = visualizations.find((one) => one.id === tab);
            if (!visualization) return null;
            return (
              <div className="viz-panel">
                <div className="viz-toolbar">
                  <button type="button" className="ghost" onClick={() => setEditing(visualization)}>
                    Edit visualization
                  </button>
                </div>
                {whole.isLoading ? <p className="muted">Loading…</p> : <VisualizationView visualization={visualization} rows={rows} columns={columns.map((column: { name: string }) => column.name)} />}
              </div>
            );
          })()
        )}
      </section>
      {query && <QueryExtras query={query} />}
      {editing !== null && query && (
        <EditVisualization
          queryId={query.id}
          resultId={resultId}
          visualization={editing === 'new' ? null : editing}
          onClose={(done) => {
            setEditing(null);
            if (done) setTab(done.id);
          }}
        />
      )}
    </main>
  );
}

/** The editor needs every row for its preview; it loads them itself. */
function EditVisualization({ queryId, resultId, visualization, onClose }: { queryId: number; resultId: number | null; visualization: Visualization | null; onClose: (saved: Visualization | null) => void }): React.JSX.Element {
  const whole = useWholeResult(resultId);
  if (!whole.data) return <div className="dialog-backdrop"><p className="dialog">Loading the result…</p></div>;
  return <VisualizationEditor queryId={queryId} visualization={visualization} rows={whole.data.data.rows as Record<string, unknown>[]} columns={whole.data.data.columns} onClose={onClose} />;
}
