// Data sources admin: the list, and a form per kind generated from its configuration schema,
// with test connection, pause and delete.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { EmptyState } from '../../components/EmptyState';
import { showError, showToast } from '../../components/toast';
import { testDataSource, useDataSource, useDataSourceList, useDataSourceTypes, useDeleteDataSource, usePauseDataSource, useSaveDataSource } from './api';
import { fieldsOf, optionsFrom } from './schemaForm';

export function DataSourcesPage(): React.JSX.Element {
  const list = useDataSourceList();
  const pause = usePauseDataSource();
  return (
    <main className="page">
      <header className="page-header">
        <h1>Data sources</h1>
        <Link className="button primary" to="/data_sources/new">
          New data source
        </Link>
      </header>
      {list.data?.length === 0 && (
        <EmptyState title="No data sources yet">
          <p>
            <Link to="/data_sources/new">Add a data source</Link> to start writing queries.
          </p>
        </EmptyState>
      )}
      {list.data && list.data.length > 0 && (
        <table className="list-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Type</th>
              <th>State</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {list.data.map((source) => (
              <tr key={source.id}>
                <td>
                  <Link to={`/data_sources/${source.id}`}>{source.name}</Link>
                </td>
                <td>{source.type}</td>
                <td>{source.paused ? `Paused${source.pause_reason ? `: ${source.pause_reason}` : ''}` : 'Active'}</td>
                <td className="row-actions">
                  <button type="button" className="ghost" onClick={() => pause.mutate({ id: source.id, paused: !source.paused })}>
                    {source.paused ? 'Resume' : 'Pause'}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}

export function DataSourceEditPage(): React.JSX.Element {
  const params = useParams();
  const navigate = useNavigate();
  const id = params.id && params.id !== 'new' ? Number(params.id) : null;
  const types = useDataSourceTypes();
  const existing = useDataSource(id);
  const save = useSaveDataSource();
  const remove = useDeleteDataSource();
  const [typeName, setTypeName] = useState<string>('');
  const [name, setName] = useState('');
  const [values, setValues] = useState<Record<string, unknown>>({});
  const [testing, setTesting] = useState(false);

  useEffect(() => {
    if (existing.data) {
      setTypeName(existing.data.type);
      setName(existing.data.name);
      setValues(existing.data.options ?? {});
    }
  }, [existing.data]);

  const kind = types.data?.find((one) => one.type === typeName);
  const fields = useMemo(() => (kind ? fieldsOf(kind) : []), [kind]);

  function chooseType(next: string): void {
    setTypeName(next);
    const chosen = types.data?.find((one) => one.type === next);
    setValues(Object.fromEntries((chosen ? fieldsOf(chosen) : []).filter((field) => field.defaultValue !== undefined).map((field) => [field.name, field.defaultValue])));
  }

  function submit(event: FormEvent): void {
    event.preventDefault();
    save.mutate(
      { id, body: { name, type: typeName, options: optionsFrom(fields, values) } },
      {
        onSuccess: (saved) => {
          showToast('success', 'Saved.');
          if (id === null) navigate(`/data_sources/${saved.id}`, { replace: true });
        },
      },
    );
  }

  async function test(): Promise<void> {
    if (id === null) return;
    setTesting(true);
    try {
      const outcome = await testDataSource(id);
      showToast(outcome.ok ? 'success' : 'error', outcome.ok ? 'Connection works.' : outcome.message);
    } catch (error) {
      showError(error);
    } finally {
      setTesting(false);
    }
  }

  return (
    <main className="page narrow">
      <h1>{id === null ? 'New data source' : name || 'Data source'}</h1>
      <form onSubmit={submit} aria-label="Data source">
        <label>
          Type
          <select value={typeName} onChange={(event) => chooseType(event.target.value)} required disabled={id !== null} autoFocus={id === null}>
            <option value="">Choose a type…</option>
            {types.data?.map((one) => (
              <option key={one.type} value={one.type}>
                {one.name}
              </option>
            ))}
          </select>
        </label>
        {kind && (
          <>
            <label>
              Name
              <input name="name" value={name} onChange={(event) => setName(event.target.value)} required />
            </label>
            {fields.map((field) => (
              <label key={field.name} className={field.kind === 'checkbox' ? 'inline' : undefined}>
                {field.kind !== 'checkbox' && field.title}
                {field.kind === 'select' ? (
                  <select name={field.name} value={String(values[field.name] ?? '')} required={field.required} onChange={(event) => setValues({ ...values, [field.name]: event.target.value })}>
                    <option value="" />
                    {field.choices?.map((choice) => (
                      <option key={choice.value} value={choice.value}>
                        {choice.name}
                      </option>
                    ))}
                  </select>
                ) : field.kind === 'checkbox' ? (
                  <input name={field.name} type="checkbox" checked={Boolean(values[field.name])} onChange={(event) => setValues({ ...values, [field.name]: event.target.checked })} />
                ) : field.kind === 'textarea' ? (
                  <textarea name={field.name} value={String(values[field.name] ?? '')} required={field.required} onChange={(event) => setValues({ ...values, [field.name]: event.target.value })} />
                ) : (
                  <input
                    name={field.name}
                    type={field.kind}
                    value={String(values[field.name] ?? '')}
                    required={field.required}
                    autoComplete={field.kind === 'password' ? 'new-password' : 'off'}
                    onChange={(event) => setValues({ ...values, [field.name]: event.target.value })}
                  />
                )}
                {field.kind === 'checkbox' && ` ${field.title}`}
              </label>
            ))}
            <div className="form-actions">
              <button type="submit" className="primary" disabled={save.isPending}>
                {save.isPending ? 'Saving…' : 'Save'}
              </button>
              {id !== null && (
                <>
                  <button type="button" onClick={() => void test()} disabled={testing}>
                    {testing ? 'Testing…' : 'Test connection'}
                  </button>
                  <button type="button" className="danger" onClick={() => window.confirm(`Delete "${name}"? Its queries lose their data source.`) && remove.mutate(id, { onSuccess: () => navigate('/data_sources') })}>
                    Delete
                  </button>
                </>
              )}
            </div>
          </>
        )}
      </form>
    </main>
  );
}
